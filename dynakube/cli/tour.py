"""``dynakube tour``: a scripted walk through what dynakube does, on a server it brings along.

Each step runs real calls (against the embedded API server unless a kubeconfig or context
was named) and prints what happened: discovery finds the groups, a CRD appears in it,
categories group resources, a widget is created, client-side validation stops a bad one
naming the field and the reason, a YAML file is applied, watch events arrive, a wait sees a
change happen, a diff shows what a changed file would do, a field is explained. It ends with
the Python behind each step.
"""

from __future__ import annotations

import copy
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import NotFoundError, UnknownResourceError, ValidationError
from . import printing

if TYPE_CHECKING:
    from ..client import Client, Resource

__all__ = ["NAMESPACE", "PYTHON_STEPS", "run_tour"]

#: Where the tour puts its objects (on a real cluster it is deleted at the end).
NAMESPACE = "dynakube-tour"
MANAGER = "dynakube-tour"
STEPS = 10

PYTHON_STEPS = f"""\
import dynakube
from dynakube.apiserver.seed import WIDGET_CRD, widget

kube = dynakube.Client()   # ~/.kube/config; or: dynakube.testing.ApiServer().start().client()

# 1. discovery
kube.discovery.registry().groups()             # every API group the server serves
kube.api_resources()                           # what `dynakube api-resources` prints

# 2. a CRD, and its kind appearing
kube.resource("customresourcedefinitions").apply(WIDGET_CRD)
kube.invalidate(); kube.resource("widgets")    # discovery now knows the Widget kind

# 3. categories
kube.resources_in_category("gadgets")          # what `dynakube get gadgets` lists

# 4. create, and read back the server's Table
kube.resource("namespaces").apply(
    {{"apiVersion": "v1", "kind": "Namespace", "metadata": {{"name": "{NAMESPACE}"}}}})
widgets = kube.resource("widgets")
widgets.create(widget("demo", "small", "{NAMESPACE}"))
kube.table(widgets, "{NAMESPACE}")

# 5. client-side validation (nothing is sent)
try:
    bad = widget("broken", "huge", "{NAMESPACE}", replicas=500)
    widgets.create(bad, field_validation="Strict")
except dynakube.errors.ValidationError as e:
    for problem in e.problems:
        print(problem.path, problem.message)

# 6. apply YAML files, directories or text (server-side apply)
kube.apply("tour.yaml", field_manager="me")

# 7. watch, from a list's resourceVersion
rv = widgets.list("{NAMESPACE}")["metadata"]["resourceVersion"]
for event in widgets.watch("{NAMESPACE}", resource_version=rv, timeout=10):
    print(event.type, event.object["metadata"]["name"])

# 8. wait (a watch, not polling), as `dynakube wait widget/demo --for=jsonpath=...`
widgets.patch("demo", {{"spec": {{"replicas": 5}}}}, "{NAMESPACE}")   # (someone scales it)
widgets.wait("demo", "{NAMESPACE}", for_="jsonpath={{.spec.replicas}}=5", timeout=30)

# 9. diff: `dynakube diff -f tour.yaml`, live against a server-side dry run
from dynakube.cli.diff import diff_documents
from dynakube.apply import load_documents
print(diff_documents(kube, load_documents("tour.yaml")[0], server_side=True))

# 10. explain
print(kube.explain("widgets.spec.replicas"))
"""


class _Tour:
    def __init__(self, kube: Client, out: IO[str]):
        self.kube = kube
        self.out = out
        self.step_no = 0

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def step(self, title: str) -> None:
        self.step_no += 1
        self.say()
        self.say(f"== {self.step_no}/{STEPS}  {title} ==")

    def show(self, text: str) -> None:
        self.say(textwrap.indent(text.rstrip("\n"), "    "))

    # -- the steps -------------------------------------------------------------------------

    def discovery(self) -> None:
        self.step("Discovery: what does this server serve?")
        registry = self.kube.discovery.registry()
        groups = registry.groups()
        version = self.kube.version().get("gitVersion", "?")
        self.say(f"The server ({version}) serves {len(registry.api_resources())} resources "
                 f"in {len(groups)} API groups, found at run time:")
        self.show(textwrap.fill(", ".join(g or "core" for g in groups), 88))

    def crd(self) -> tuple[Resource, bool]:
        """Apply the Widget CRD; its resource, and whether the tour created it."""
        from ..apiserver.seed import WIDGET_CRD

        self.step("A CustomResourceDefinition, and its kind appearing")
        try:
            self.kube.resource("widgets")
            existed = True
            self.say("widgets are already served here; applying the CRD again changes nothing.")
        except UnknownResourceError as e:
            existed = False
            self.say(f"Before: {e}")
        crds = self.kube.resource("customresourcedefinitions")
        crd = crds.apply(copy.deepcopy(WIDGET_CRD), field_manager=MANAGER)
        self.say("Applied CustomResourceDefinition widgets.example.dynakube.io.")
        widgets = self._wait_for("widgets")
        info = widgets.info
        self.say(f"After:  {info.qualified} is served: kind {info.kind} in {info.api_version}, "
                 f"short names {', '.join(info.short_names)}, "
                 f"categories {', '.join(info.categories)}.")
        for version in (crd.get("spec") or {}).get("versions") or []:
            if version.get("deprecated") and version.get("served"):
                self.say(f"        {info.group}/{version.get('name')} is served too, "
                         f"deprecated: {version.get('deprecationWarning') or 'deprecated'}")
        return widgets, not existed

    def _wait_for(self, name: str, timeout: float = 30.0) -> Resource:
        deadline = time.monotonic() + timeout
        while True:
            self.kube.invalidate()
            try:
                return self.kube.resource(name)
            except UnknownResourceError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def categories(self) -> None:
        self.step("Categories: resources grouped the way `kubectl get all` groups them")
        gadgets = self.kube.resources_in_category("gadgets")
        self.say("In category 'gadgets': " + ", ".join(r.qualified for r in gadgets))
        everything = self.kube.resources_in_category("all")
        self.say("In category 'all':     " + ", ".join(r.qualified for r in everything))

    def create(self, widgets: Resource) -> None:
        from ..apiserver.seed import widget

        self.step("Creating a widget, read back as the server's own Table")
        self.kube.resource("namespaces").apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            field_manager=MANAGER)
        created = widgets.create(widget("demo", "small", NAMESPACE))
        spec = created.get("spec") or {}
        self.say(f"Created widget demo in namespace {NAMESPACE}; the server defaulted "
                 f"spec.replicas to {spec.get('replicas')}.")
        table = self.kube.table(widgets, NAMESPACE)
        self.say("`dynakube get widgets -n dynakube-tour` shows the CRD's printer columns:")
        self.show(printing.format_table(printing.table_rows(table)))

    def validation(self, widgets: Resource) -> None:
        from ..apiserver.seed import widget

        self.step("Client-side validation stops a bad widget before it is sent")
        bad = widget("broken", "huge", NAMESPACE, replicas=500, colour="#00ff00")
        self.show(printing.to_yaml({"spec": bad["spec"]}))
        try:
            widgets.create(bad, field_validation="Strict")
        except ValidationError as e:
            self.say(f"dynakube.errors.ValidationError: {len(e.problems)} problem(s):")
            for problem in e.problems:
                self.say(f"    {problem}")
        else:
            self.say("(the server accepted it: this server publishes no schema to check)")
            return
        try:
            widgets.get("broken", NAMESPACE)
            self.say("...yet the object exists (created by someone else?)")
        except NotFoundError:
            self.say("The server never saw it: GET widgets/broken is 404 NotFound.")

    def apply_file(self) -> None:
        from ..apiserver.seed import TOUR_MANIFEST

        self.step("Applying a YAML file (several documents, server-side apply)")
        with tempfile.TemporaryDirectory(prefix="dynakube-tour-") as tmp:
            path = Path(tmp) / "tour.yaml"
            path.write_text(TOUR_MANIFEST, encoding="utf-8")
            self.say(f"{path.name}:")
            self.show(TOUR_MANIFEST)
            results = self.kube.apply(str(path), field_manager=MANAGER)
        self.say("`dynakube apply --server-side -f tour.yaml` prints:")
        for obj in results:
            group = str(obj.get("apiVersion", "")).rpartition("/")[0]
            name = (obj.get("metadata") or {}).get("name")
            self.say(f"    {printing.kind_group(str(obj.get('kind')), group)}/{name} "
                     "serverside-applied")

    def watch(self, widgets: Resource) -> None:
        from ..apiserver.seed import widget

        self.step("Watching: changes arrive as events")
        listed = widgets.list(NAMESPACE)
        rv = (listed.get("metadata") or {}).get("resourceVersion")
        self.say(f"Listed {len(listed.get('items') or [])} widgets at resourceVersion {rv}; "
                 "now scaling demo, adding zeta, deleting zeta.")
        widgets.patch("demo", {"spec": {"replicas": 3}}, NAMESPACE)
        widgets.create(widget("zeta", "small", NAMESPACE))
        widgets.delete("zeta", NAMESPACE)
        seen = 0
        with widgets.watch(NAMESPACE, resource_version=rv, timeout=10) as events:
            for event in events:
                if event.type not in ("ADDED", "MODIFIED", "DELETED"):
                    continue
                obj: dict[str, Any] = event.object
                replicas = (obj.get("spec") or {}).get("replicas")
                self.say(f"    {event.type:<9} widget {obj['metadata']['name']} "
                         f"(replicas {replicas}, resourceVersion "
                         f"{event.resource_version})")
                seen += 1
                if seen == 3:
                    break
        if seen < 3:
            self.say(f"    ({seen} event(s) arrived within 10 seconds)")

    def wait(self, widgets: Resource) -> None:
        self.step("Waiting for a condition, as `kubectl wait` does (a watch, no polling)")
        self.say("`dynakube wait widget/demo -n dynakube-tour --for=jsonpath='{.spec.replicas}'"
                 "=5` while someone scales demo to 5 half a second later:")
        scaler = threading.Timer(0.5, widgets.patch, ("demo", {"spec": {"replicas": 5}},
                                                      NAMESPACE))
        started = time.monotonic()
        scaler.start()
        try:
            found = widgets.wait("demo", NAMESPACE, for_="jsonpath={.spec.replicas}=5",
                                 timeout=30)
        finally:
            scaler.join()
        for obj in found:
            self.say(f"    {printing.object_name(widgets.info, obj['metadata']['name'])} "
                     f"condition met (after {time.monotonic() - started:.1f}s)")

    def diff(self) -> None:
        from ..apiserver.seed import TOUR_MANIFEST
        from ..apply import load_documents
        from .diff import diff_documents

        self.step("Diff: what applying a changed file would do (server-side dry run)")
        changed = TOUR_MANIFEST.replace("replicas: 12", "replicas: 20")
        self.say("tour.yaml with epsilon's replicas changed to 20; `dynakube diff "
                 "--server-side -f tour.yaml` (exit 1: there are differences):")
        docs, _ = load_documents(changed)
        text = diff_documents(self.kube, docs, server_side=True, field_manager=MANAGER)
        self.show(text or "(no differences)")
        live = self.kube.resource("widgets").get("epsilon", NAMESPACE)
        self.say(f"Nothing was changed: epsilon still has {live['spec']['replicas']} replicas.")

    def explain(self) -> None:
        self.step("Explaining a field, from the server's OpenAPI schema")
        self.say("`dynakube explain widgets.spec.replicas`:")
        self.show(self.kube.explain("widgets.spec.replicas"))

    def python(self) -> None:
        self.say()
        self.say("== The same, in Python ==")
        self.show(PYTHON_STEPS)
        self.say()
        self.say("Next: `dynakube --embedded repl` for a console with `kube` bound to a "
                 "client,")
        self.say("`dynakube --embedded get widgets -A`, "
                 "`dynakube --embedded api-resources -o wide`.")

    def cleanup(self, created_crd: bool) -> None:
        """On a real cluster, leave it as found: the namespace, and the CRD if the tour made it."""
        self.say()
        made = [("namespaces", "namespace", NAMESPACE)]
        if created_crd:
            made.append(("customresourcedefinitions", "CustomResourceDefinition",
                         "widgets.example.dynakube.io"))
        for resource, what, name in made:
            try:  # each on its own: a namespace already gone must not keep the CRD
                self.kube.resource(resource).delete(name)
            except NotFoundError:
                continue
            self.say(f"Cleaned up: deleted {what} {name}.")


def run_tour(kube: Client, *, out: IO[str], embedded: bool) -> int:
    """Run every step against ``kube``; returns the exit code (errors propagate)."""
    tour = _Tour(kube, out)
    where = "an embedded API server (no cluster needed)" if embedded else kube.config.server
    tour.say(f"dynakube tour: {STEPS} steps against {where}.")
    tour.discovery()
    widgets, created_crd = tour.crd()
    try:
        tour.categories()
        tour.create(widgets)
        tour.validation(widgets)
        tour.apply_file()
        tour.watch(widgets)
        tour.wait(widgets)
        tour.diff()
        tour.explain()
        tour.python()
    finally:
        if not embedded:
            tour.cleanup(created_crd)
    return 0
