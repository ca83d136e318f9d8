"""Built-in objects printed as kube-apiserver prints its internal Go structs in messages.

Some refusals end in a dump of the *internal* type (``pkg/apis/core``) of the object: a
Job's ``field is immutable`` shows the pod spec as ``json.Marshal`` writes it, and a Pod's
or a claim's forbidden update appends ``diff.Diff`` of the old and new spec (a unified diff,
three lines of context, of the specs indented by one space). Internal types have no JSON
tags, so every field appears under its Go name, in the struct's order, ``null`` or its zero
value when unset; embedded structs are flattened; a few fields sit elsewhere than in ``v1``
(a pod's ``hostNetwork`` is in its internal ``SecurityContext``).

:data:`_TYPES` lays out those structs: ``Field[=v1name] type`` where the type is ``str``,
``int``, ``bool`` (zero values when unset), ``*`` anything (``null`` when unset), ``[]T``,
``map`` (keys sorted), ``any`` (the ``v1`` value as it is: quantities, int-or-strings,
lists of strings), a struct name, or ``...Struct`` (embedded; ``...Struct=name`` when the
``v1`` object holds it under ``name``, as ``metadata``). ``^name`` reads the field from the
enclosing ``v1`` object. Types marked ``!`` carry JSON tags (``metav1`` ones): their fields
are ``v1`` names, and ``?`` marks ``omitempty`` (or ``omitzero``: an unset
``creationTimestamp`` is left out since 1.34). A struct this table does not
lay out is shown as its ``v1`` JSON.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GoDump", "go_struct", "go_json", "go_diff"]

_TYPES = """
PodTemplateSpec: ...!ObjectMeta=metadata; Spec PodSpec
!ObjectMeta: name? str; generateName? str; namespace? str; selfLink? str; uid? str;
 resourceVersion? str; generation? int; creationTimestamp? *any; deletionTimestamp? *any;
 deletionGracePeriodSeconds? *int; labels? map; annotations? map; ownerReferences? []any;
 finalizers? []any; managedFields? []any
!LabelSelector: matchLabels? map; matchExpressions? []!LabelSelectorRequirement
!LabelSelectorRequirement: key str; operator str; values? []any
PodSpec: Volumes []Volume; InitContainers []Container; Containers []Container;
 EphemeralContainers []EphemeralContainer; RestartPolicy str;
 TerminationGracePeriodSeconds *int; ActiveDeadlineSeconds *int; DNSPolicy str;
 NodeSelector map; ServiceAccountName str; AutomountServiceAccountToken *bool; NodeName str;
 SecurityContext PodSecurityContext; ImagePullSecrets []LocalObjectReference; Hostname str;
 Subdomain str; SetHostnameAsFQDN=setHostnameAsFQDN *bool; Affinity *Affinity;
 SchedulerName str; Tolerations []Toleration; HostAliases []HostAlias;
 PriorityClassName str; Priority *int; PreemptionPolicy *str; DNSConfig *PodDNSConfig;
 ReadinessGates []PodReadinessGate; RuntimeClassName *str; Overhead map;
 EnableServiceLinks *bool; TopologySpreadConstraints []TopologySpreadConstraint; OS *PodOS;
 SchedulingGates []PodSchedulingGate; ResourceClaims []PodResourceClaim;
 Resources *ResourceRequirements; HostnameOverride *str; SchedulingGroup *any
PodSecurityContext: HostNetwork=^hostNetwork bool; HostPID=^hostPID bool;
 HostIPC=^hostIPC bool; ShareProcessNamespace=^shareProcessNamespace *bool;
 HostUsers=^hostUsers *bool; SELinuxOptions *SELinuxOptions;
 WindowsOptions *WindowsSecurityContextOptions; RunAsUser *int; RunAsGroup *int;
 RunAsNonRoot *bool; SupplementalGroups []any; SupplementalGroupsPolicy *str; FSGroup *int;
 FSGroupChangePolicy *str; Sysctls []Sysctl; SeccompProfile *SeccompProfile;
 AppArmorProfile *AppArmorProfile; SELinuxChangePolicy *str
Volume: Name str; ...VolumeSource
VolumeSource: HostPath *HostPathVolumeSource; EmptyDir *EmptyDirVolumeSource;
 GCEPersistentDisk *any; AWSElasticBlockStore *any; GitRepo *any;
 Secret *SecretVolumeSource; NFS *NFSVolumeSource; ISCSI *any; Glusterfs *any;
 PersistentVolumeClaim *PersistentVolumeClaimVolumeSource; RBD *any; Quobyte *any;
 FlexVolume *any; Cinder *any; CephFS=cephfs *any; Flocker *any;
 DownwardAPI *DownwardAPIVolumeSource; FC *any; AzureFile *any;
 ConfigMap *ConfigMapVolumeSource; VsphereVolume *any; AzureDisk *any;
 PhotonPersistentDisk *any; Projected *ProjectedVolumeSource; PortworxVolume *any;
 ScaleIO *any; StorageOS *any; CSI *CSIVolumeSource; Ephemeral *EphemeralVolumeSource;
 Image *ImageVolumeSource
HostPathVolumeSource: Path str; Type *str
EmptyDirVolumeSource: Medium str; SizeLimit *any
SecretVolumeSource: SecretName str; Items []KeyToPath; DefaultMode *int; Optional *bool
NFSVolumeSource: Server str; Path str; ReadOnly bool
PersistentVolumeClaimVolumeSource: ClaimName str; ReadOnly bool
DownwardAPIVolumeSource: Items []DownwardAPIVolumeFile; DefaultMode *int
DownwardAPIVolumeFile: Path str; FieldRef *ObjectFieldSelector;
 ResourceFieldRef *ResourceFieldSelector; Mode *int
ConfigMapVolumeSource: ...LocalObjectReference; Items []KeyToPath; DefaultMode *int;
 Optional *bool
ProjectedVolumeSource: Sources []VolumeProjection; DefaultMode *int
VolumeProjection: Secret *SecretProjection; DownwardAPI *DownwardAPIProjection;
 ConfigMap *ConfigMapProjection; ServiceAccountToken *ServiceAccountTokenProjection;
 ClusterTrustBundle *any; PodCertificate *any
SecretProjection: ...LocalObjectReference; Items []KeyToPath; Optional *bool
ConfigMapProjection: ...LocalObjectReference; Items []KeyToPath; Optional *bool
DownwardAPIProjection: Items []DownwardAPIVolumeFile
ServiceAccountTokenProjection: Audience str; ExpirationSeconds int; Path str
CSIVolumeSource: Driver str; ReadOnly *bool; FSType *str; VolumeAttributes map;
 NodePublishSecretRef *LocalObjectReference
EphemeralVolumeSource: VolumeClaimTemplate *any
ImageVolumeSource: Reference str; PullPolicy str
KeyToPath: Key str; Path str; Mode *int
LocalObjectReference: Name str
ObjectFieldSelector: APIVersion str; FieldPath str
ResourceFieldSelector: ContainerName str; Resource str; Divisor any
Container: Name str; Image str; Command []any; Args []any; WorkingDir str;
 Ports []ContainerPort; EnvFrom []EnvFromSource; Env []EnvVar;
 Resources ResourceRequirements; ResizePolicy []ContainerResizePolicy;
 RestartPolicy *str; RestartPolicyRules []ContainerRestartRule; VolumeMounts []VolumeMount;
 VolumeDevices []VolumeDevice; LivenessProbe *Probe; ReadinessProbe *Probe;
 StartupProbe *Probe; Lifecycle *Lifecycle; TerminationMessagePath str;
 TerminationMessagePolicy str; ImagePullPolicy str; SecurityContext *SecurityContext;
 Stdin bool; StdinOnce bool; TTY bool
EphemeralContainer: ...Container; TargetContainerName str
ContainerPort: Name str; HostPort int; ContainerPort int; Protocol str; HostIP str
EnvFromSource: Prefix str; ConfigMapRef *ConfigMapEnvSource; SecretRef *SecretEnvSource
ConfigMapEnvSource: ...LocalObjectReference; Optional *bool
SecretEnvSource: ...LocalObjectReference; Optional *bool
EnvVar: Name str; Value str; ValueFrom *EnvVarSource
EnvVarSource: FieldRef *ObjectFieldSelector; ResourceFieldRef *ResourceFieldSelector;
 ConfigMapKeyRef *ConfigMapKeySelector; SecretKeyRef *SecretKeySelector;
 FileKeyRef *FileKeySelector
ConfigMapKeySelector: ...LocalObjectReference; Key str; Optional *bool
SecretKeySelector: ...LocalObjectReference; Key str; Optional *bool
FileKeySelector: VolumeName str; Path str; Key str; Optional *bool
ResourceRequirements: Limits map; Requests map; Claims []ResourceClaim
ResourceClaim: Name str; Request str
ContainerResizePolicy: ResourceName str; RestartPolicy str
ContainerRestartRule: Action str; ExitCodes *ContainerRestartRuleOnExitCodes
ContainerRestartRuleOnExitCodes: Operator str; Values []any
VolumeMount: Name str; ReadOnly bool; RecursiveReadOnly *str; MountPath str; SubPath str;
 MountPropagation *str; SubPathExpr str
VolumeDevice: Name str; DevicePath str
Probe: ...ProbeHandler; InitialDelaySeconds int; TimeoutSeconds int; PeriodSeconds int;
 SuccessThreshold int; FailureThreshold int; TerminationGracePeriodSeconds *int
ProbeHandler: Exec *ExecAction; HTTPGet *HTTPGetAction; TCPSocket *TCPSocketAction;
 GRPC *GRPCAction
ExecAction: Command []any
HTTPGetAction: Path str; Port any; Host str; Scheme str; HTTPHeaders []HTTPHeader
HTTPHeader: Name str; Value str
TCPSocketAction: Port any; Host str
GRPCAction: Port int; Service *str
Lifecycle: PostStart *LifecycleHandler; PreStop *LifecycleHandler; StopSignal *str
LifecycleHandler: Exec *ExecAction; HTTPGet *HTTPGetAction; TCPSocket *TCPSocketAction;
 Sleep *SleepAction
SleepAction: Seconds int
SecurityContext: Capabilities *Capabilities; Privileged *bool;
 SELinuxOptions *SELinuxOptions; WindowsOptions *WindowsSecurityContextOptions;
 RunAsUser *int; RunAsGroup *int; RunAsNonRoot *bool; ReadOnlyRootFilesystem *bool;
 AllowPrivilegeEscalation *bool; ProcMount *str; SeccompProfile *SeccompProfile;
 AppArmorProfile *AppArmorProfile
Capabilities: Add []any; Drop []any
SELinuxOptions: User str; Role str; Type str; Level str
WindowsSecurityContextOptions: GMSACredentialSpecName=gmsaCredentialSpecName *str;
 GMSACredentialSpec=gmsaCredentialSpec *str; RunAsUserName *str; HostProcess *bool
SeccompProfile: Type str; LocalhostProfile *str
AppArmorProfile: Type str; LocalhostProfile *str
Sysctl: Name str; Value str
Affinity: NodeAffinity *NodeAffinity; PodAffinity *PodAffinity;
 PodAntiAffinity *PodAffinity
NodeAffinity: RequiredDuringSchedulingIgnoredDuringExecution *NodeSelector;
 PreferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm
NodeSelector: NodeSelectorTerms []NodeSelectorTerm
NodeSelectorTerm: MatchExpressions []NodeSelectorRequirement;
 MatchFields []NodeSelectorRequirement
NodeSelectorRequirement: Key str; Operator str; Values []any
PreferredSchedulingTerm: Weight int; Preference NodeSelectorTerm
PodAffinity: RequiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm;
 PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm
WeightedPodAffinityTerm: Weight int; PodAffinityTerm PodAffinityTerm
PodAffinityTerm: LabelSelector *!LabelSelector; Namespaces []any; TopologyKey str;
 NamespaceSelector *!LabelSelector; MatchLabelKeys []any; MismatchLabelKeys []any
Toleration: Key str; Operator str; Value str; Effect str; TolerationSeconds *int
HostAlias: IP=ip str; Hostnames []any
PodDNSConfig: Nameservers []any; Searches []any; Options []PodDNSConfigOption
PodDNSConfigOption: Name str; Value *str
PodReadinessGate: ConditionType str
TopologySpreadConstraint: MaxSkew int; TopologyKey str; WhenUnsatisfiable str;
 LabelSelector *!LabelSelector; MinDomains *int; NodeAffinityPolicy *str;
 NodeTaintsPolicy *str; MatchLabelKeys []any
PodOS: Name str
PodSchedulingGate: Name str
PodResourceClaim: Name str; ResourceClaimName *str; ResourceClaimTemplateName *str
PersistentVolumeClaimSpec: AccessModes []any; Selector *!LabelSelector;
 Resources VolumeResourceRequirements; VolumeName str; StorageClassName *str;
 VolumeMode *str; DataSource *TypedLocalObjectReference;
 DataSourceRef *TypedObjectReference; VolumeAttributesClassName *str
VolumeResourceRequirements: Limits map; Requests map
TypedLocalObjectReference: APIGroup *str; Kind str; Name str
TypedObjectReference: APIGroup *str; Kind str; Name str; Namespace *str
StatefulSetUpdateStrategy: Type str; RollingUpdate *RollingUpdateStatefulSetStrategy
RollingUpdateStatefulSetStrategy: Partition int; MaxUnavailable *any
"""
_ZERO = {"str": "", "int": 0, "bool": False}
_LEADING_CAPS = re.compile(r"^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]")


@dataclass(frozen=True)
class _Field:
    name: str  # as printed: the Go name, or the v1 name of a JSON-tagged type
    source: str  # its v1 name
    kind: str  # the type expression
    from_parent: bool = False
    omitempty: bool = False


def _v1_name(go: str) -> str:
    """``HTTPGet`` -> ``httpGet``, ``SELinuxOptions`` -> ``seLinuxOptions``, ``TTY`` -> ``tty``."""
    return _LEADING_CAPS.sub(lambda m: m.group(0).lower(), go, count=1)


def _parse(text: str) -> dict[str, tuple[_Field, ...]]:
    layouts: dict[str, tuple[_Field, ...]] = {}
    for entry in re.split(r"\n(?! )", text.strip()):
        name, _, body = " ".join(entry.split()).partition(": ")
        tagged = name.startswith("!")
        fields = []
        for spec in body.split("; "):
            label, _, kind = spec.partition(" ")
            if label.startswith("..."):
                embedded, _, inside = label.partition("=")
                fields.append(_Field("", inside, embedded))
                continue
            omit = label.endswith("?")
            label = label.rstrip("?")
            go, _, v1 = label.partition("=")
            parent = v1.startswith("^")
            v1 = v1.lstrip("^") or (go if tagged else _v1_name(go))
            fields.append(_Field(go, v1, kind, parent, omit))
        layouts[name] = tuple(fields)
    return layouts


_LAYOUTS = _parse(_TYPES)


class GoDump(str):
    """A rendered Go value: ``field.Error`` prints it as it is (see ``fields.go_value``)."""


def _mapping_of(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == [] \
        or value == {}


def _value(kind: str, value: Any, parent: Mapping[str, Any]) -> Any:
    if kind.startswith("*"):
        return None if value is None else _value(kind[1:], value, parent)
    if kind in _ZERO:
        return _ZERO[kind] if value is None else value
    if kind == "any":
        return value
    if kind == "map":
        return {k: value[k] for k in sorted(value)} if isinstance(value, Mapping) else None
    if kind.startswith("[]"):
        if not isinstance(value, list):
            return None
        return [_value(kind[2:], item, parent) for item in value]
    layout = _LAYOUTS.get(kind)
    if layout is None:
        return value
    return _struct(layout, value if isinstance(value, Mapping) else {}, parent)


def _struct(layout: tuple[_Field, ...], obj: Mapping[str, Any],
            parent: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in layout:
        if f.kind.startswith("..."):
            inner = _mapping_of(obj.get(f.source)) if f.source else obj
            out.update(_struct(_LAYOUTS[f.kind[3:]], inner, parent))
            continue
        raw = (parent if f.from_parent else obj).get(f.source)
        rendered = _value(f.kind, raw, obj)
        if f.omitempty and _empty(rendered):
            continue
        out[f.name] = rendered
    return out


def go_struct(kind: str, value: Mapping[str, Any] | None, *, parent: Mapping[str, Any]
              | None = None) -> dict[str, Any]:
    """The ``v1`` ``value`` as the internal Go struct ``kind`` holds it (field order, zero
    values, flattening), ready for :func:`json.dumps`."""
    return _struct(_LAYOUTS[kind], value or {}, parent or {})


def go_json(kind: str, value: Mapping[str, Any] | None) -> GoDump:
    """``json.Marshal`` of the internal struct: compact, with HTML characters escaped."""
    text = json.dumps(go_struct(kind, value), separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return GoDump(text)


def go_diff(kind: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    """apimachinery's ``diff.Diff(old, new)`` of two internal structs: a unified diff, three
    lines of context and no file header, of each one's JSON indented by one space."""
    def lines(value: Mapping[str, Any] | None) -> list[str]:
        text = json.dumps(go_struct(kind, value), indent=1, ensure_ascii=False) + "\n"
        return [line + "\n" for line in text.split("\n")]  # go-difflib's SplitLines
    diff = list(difflib.unified_diff(lines(old), lines(new), n=3))
    return "".join(diff[2:])  # without Python's "---" / "+++" lines

