"""Jobs and CronJobs (``pkg/apis/batch/validation``).

A Job's pods restart ``OnFailure`` or ``Never``; unless ``manualSelector`` is set its selector
is the generated ``controller-uid`` one, and the labels defaulting puts on the template count
as present when the object has not been defaulted yet. A CronJob's schedule is parsed as
``robfig/cron`` parses it, with the same error texts.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from typing import Any

from .fields import Cause, forbidden, invalid, nonnegative, not_supported, required
from .godump import go_json
from .metadata import mapping
from .podspec import pod_template, restart_policy
from .selectors import converts, matches, render, validate_selector
from .workloads import template_labels

__all__ = ["job", "cron_job", "parse_schedule"]

_MISMATCH = "`selector` does not match template `labels`"
_UID_LABEL = "batch.kubernetes.io/controller-uid"
_BOUNDS = {  # minimum, maximum, names
    "minute": (0, 59, {}), "hour": (0, 23, {}), "dom": (1, 31, {}),
    "month": (1, 12, {m: i + 1 for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
    "dow": (0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
}
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class _CronError(Exception):
    pass


def _int(text: str) -> int:
    try:
        number = int(text, 10) if text.lstrip("+-").isdigit() else int("x")
    except ValueError:
        raise _CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": '
                         "invalid syntax") from None
    if number < 0:
        raise _CronError(f"negative number ({number}) not allowed: {text}")
    return number


def _int_or_name(text: str, named: dict[str, int]) -> int:
    if named and text.lower() in named:
        return named[text.lower()]
    return _int(text)


def _range(expr: str, bounds: tuple[int, int, dict[str, int]]) -> None:
    low, high, named = bounds
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _int_or_name(low_and_high[0], named)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], named)
        else:
            raise _CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if len(low_and_high) == 1:
            end = high
    elif len(range_and_step) > 2:
        raise _CronError(f"too many slashes: {expr}")
    else:
        step = 1
    if start < low:
        raise _CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise _CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise _CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise _CronError(f"step of range should be a positive number: {expr}")


def parse_schedule(schedule: str) -> str | None:
    """Why ``cron.ParseStandard`` refuses ``schedule``, or ``None`` when it parses."""
    spec = schedule
    try:
        if not spec:
            raise _CronError("empty spec string")
        if spec.startswith(("TZ=", "CRON_TZ=")):
            head, _, spec = spec.partition(" ")
            zone = head.partition("=")[2]
            problem = _zone_error(zone)
            if problem:
                raise _CronError(f"provided bad location {zone}: {problem}")
            spec = spec.strip()
        if spec.startswith("@"):
            if spec in _DESCRIPTORS:
                return None
            if spec.startswith("@every "):
                return None
            raise _CronError(f"unrecognized descriptor: {spec}")
        fields = spec.split()
        if len(fields) != 5:
            raise _CronError(f"expected exactly 5 fields, found {len(fields)}: "
                             f"[{' '.join(fields)}]")
        for text, name in zip(fields, ("minute", "hour", "dom", "month", "dow"), strict=True):
            for part in text.split(","):
                _range(part, _BOUNDS[name])
    except _CronError as err:
        return str(err)
    return None


def _zone_error(zone: str) -> str | None:
    if zone in ("", "UTC", "Local"):
        return None
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {zone}"
    return None


def _job_spec(spec: Mapping[str, Any], path: str,
              extra_labels: Mapping[str, str] | None) -> list[Cause]:
    """``validateJobSpec``: counts, completion mode, the pod template and its restart policy."""
    out: list[Cause] = []
    for name in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                 "ttlSecondsAfterFinished"):
        out += nonnegative(f"{path}.{name}", spec.get(name))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        out.append(not_supported(f"{path}.completionMode", mode, ("NonIndexed", "Indexed")))
    out += pod_template(spec.get("template"), f"{path}.template", extra_labels)
    if restart_policy(mapping(mapping(spec.get("template")).get("spec"))) not in (
            "OnFailure", "Never"):
        out.append(required(f"{path}.template.spec.restartPolicy",
                            'valid values: "OnFailure", "Never"'))
    return out


def job(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    meta, spec = mapping(obj.get("metadata")), mapping(obj.get("spec"))
    manual = spec.get("manualSelector") is True
    selector = spec.get("selector")
    tmpl = spec.get("template")
    out: list[Cause] = []
    generated: dict[str, str] | None = None
    if not manual and selector is None:
        name = str(meta.get("name") or "")
        generated = {"batch.kubernetes.io/job-name": name, "job-name": name}
    elif not manual and meta.get("uid"):
        if render(selector) != {"matchLabels": {_UID_LABEL: meta["uid"]}}:
            out.append(invalid("spec.selector", render(selector), "`selector` not auto-generated"))
        if converts(selector) and not matches(selector, template_labels(tmpl) or {}):
            out.append(invalid("spec.template.metadata.labels", template_labels(tmpl), _MISMATCH))
    out += _job_spec(spec, "spec", generated)
    if selector is None and manual:
        out.append(required("spec.selector"))
    out += validate_selector(selector, "spec.selector")
    if (selector is not None or manual) and converts(selector) and \
            not matches(selector, template_labels(tmpl) or {}):
        out.append(invalid("spec.template.metadata.labels", template_labels(tmpl), _MISMATCH))
    if old is not None:
        out += _job_update(spec, mapping(old.get("spec")), mapping(old.get("status")))
    return out


def _job_update(spec: Mapping[str, Any], old_spec: Mapping[str, Any],
                old_status: Mapping[str, Any]) -> list[Cause]:
    out: list[Cause] = []
    if spec.get("completions") != old_spec.get("completions"):
        out.append(invalid("spec.completions", spec.get("completions"), "field is immutable"))
    if render(spec.get("selector")) != render(old_spec.get("selector")):
        out.append(invalid("spec.selector", render(spec.get("selector")), "field is immutable"))
    tmpl, old_tmpl = mapping(spec.get("template")), mapping(old_spec.get("template"))
    never_started = old_spec.get("suspend") is True and not old_status.get("startTime")
    if never_started:
        loose = ("nodeSelector", "tolerations", "schedulingGates", "affinity")
        new_pod = {k: v for k, v in mapping(tmpl.get("spec")).items() if k not in loose}
        old_pod = {k: v for k, v in mapping(old_tmpl.get("spec")).items() if k not in loose}
        if new_pod != old_pod:
            out.append(invalid("spec.template.spec", go_json("PodSpec", mapping(tmpl.get("spec"))),
                               "field is immutable"))
    elif tmpl != old_tmpl:
        out.append(invalid("spec.template", go_json("PodTemplateSpec", tmpl),
                           "field is immutable"))
    return out


def cron_job(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    meta, spec = mapping(obj.get("metadata")), mapping(obj.get("spec"))
    old_spec = mapping(old.get("spec")) if old is not None else None
    out: list[Cause] = []
    schedule = spec.get("schedule")
    if not schedule:
        out.append(required("spec.schedule"))
    elif isinstance(schedule, str):
        problem = parse_schedule(schedule)
        if problem:
            out.append(invalid("spec.schedule", schedule, problem))
        tz_before = old_spec is not None and "TZ" in str(old_spec.get("schedule", ""))
        if "TZ" in schedule:
            if not tz_before:
                out.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in "
                                   "schedule, use timeZone field instead"))
            elif spec.get("timeZone") is not None:
                out.append(invalid("spec.schedule", schedule, "cannot use both timeZone field "
                                   "and TZ or CRON_TZ in schedule"))
    out += nonnegative("spec.startingDeadlineSeconds", spec.get("startingDeadlineSeconds"))
    zone = spec.get("timeZone")
    if isinstance(zone, str) and (old_spec is None or old_spec.get("timeZone") != zone):
        if not zone:
            out.append(invalid("spec.timeZone", zone, "timeZone must be nil or non-empty string"))
        elif zone.lower() == "local":
            out.append(invalid("spec.timeZone", zone, "timeZone must be an explicit time zone "
                               "as defined in https://www.iana.org/time-zones"))
        elif _zone_error(zone):
            out.append(invalid("spec.timeZone", zone, str(_zone_error(zone))))
    policy = spec.get("concurrencyPolicy")
    if policy and policy not in ("Allow", "Forbid", "Replace"):
        out.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    template = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    out += _job_spec(template, "spec.jobTemplate.spec", None)
    if template.get("manualSelector") is True:
        out.append(forbidden("spec.jobTemplate.spec.manualSelector",
                             "`manualSelector` is not supported in CronJob"))
    for limit in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        out += nonnegative(f"spec.{limit}", spec.get(limit))
    name = meta.get("name")
    if old is None and isinstance(name, str) and len(name) > 52:
        out.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return out

