// Decoding of the Kubernetes protobuf wire format for request bodies (Content-Type application/vnd.kubernetes.protobuf),
// which kubectl >= 1.32 uses for the creates it makes with typed clients (`kubectl create namespace/configmap/secret/
// deployment/job/...`, `kubectl auth can-i`, the Eviction of `kubectl drain`). The object is turned into the JSON
// form the rest of the server handles; responses stay JSON (clients accept it).
// Envelope (k8s.io/apimachinery runtime/serializer/protobuf): the 4 bytes "k8s\0", then a runtime.Unknown:
//   typeMeta = 1 (apiVersion = 1, kind = 2), raw = 2 (the object's own message), contentEncoding = 3, contentType = 4.
// Messages are proto2 with JSON-named fields; SCHEMA below lists, for the kinds in KINDS and what they reference,
// `jsonName=fieldNumber:type` where type is s string, i integer (int32/int64), b bool, y bytes (base64 in JSON),
// d double, f float, {T} a map<string, T>, or a message; `*` marks a repeated field. It was generated from
// k8s.io/api's and k8s.io/apimachinery's generated.proto files (field numbers never change between releases;
// `status` fields are left out: a create ignores them). Unknown fields are skipped by wire type. Messages whose JSON
// form is not an object (Time, Quantity, IntOrString, RawExtension...) are converted in special().

export class ProtobufError extends Error {
  constructor(
    readonly code: 400 | 415,
    message: string,
  ) {
    super(message);
  }
}

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** apiVersion/kind (from the envelope) -> message; the group version must match. */
const KINDS: Record<string, string> = {
  'v1/Namespace': 'core.Namespace',
  'v1/ConfigMap': 'core.ConfigMap',
  'v1/Secret': 'core.Secret',
  'v1/ServiceAccount': 'core.ServiceAccount',
  'v1/Service': 'core.Service',
  'v1/Pod': 'core.Pod',
  'policy/v1/Eviction': 'policy.Eviction',
  'policy/v1/PodDisruptionBudget': 'policy.PodDisruptionBudget',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'authz.SelfSubjectAccessReview',
  'rbac.authorization.k8s.io/v1/Role': 'rbac.Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'rbac.ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'rbac.RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'rbac.ClusterRoleBinding',
  'apps/v1/Deployment': 'apps.Deployment',
  'batch/v1/Job': 'batch.Job',
  'batch/v1/CronJob': 'batch.CronJob',
};

const SCHEMA: Record<string, string> = {
  'apps.Deployment': 'metadata=1:meta.ObjectMeta spec=2:apps.DeploymentSpec',
  'apps.DeploymentSpec': 'replicas=1:i selector=2:meta.LabelSelector template=3:core.PodTemplateSpec strategy=4:apps.DeploymentStrategy minReadySeconds=5:i revisionHistoryLimit=6:i paused=7:b progressDeadlineSeconds=9:i',
  'apps.DeploymentStrategy': 'type=1:s rollingUpdate=2:apps.RollingUpdateDeployment',
  'apps.RollingUpdateDeployment': 'maxUnavailable=1:intstr.IntOrString maxSurge=2:intstr.IntOrString',
  'authz.FieldSelectorAttributes': 'rawSelector=1:s requirements=2:meta.FieldSelectorRequirement*',
  'authz.LabelSelectorAttributes': 'rawSelector=1:s requirements=2:meta.LabelSelectorRequirement*',
  'authz.NonResourceAttributes': 'path=1:s verb=2:s',
  'authz.ResourceAttributes': 'namespace=1:s verb=2:s group=3:s version=4:s resource=5:s subresource=6:s name=7:s fieldSelector=8:authz.FieldSelectorAttributes labelSelector=9:authz.LabelSelectorAttributes',
  'authz.SelfSubjectAccessReview': 'metadata=1:meta.ObjectMeta spec=2:authz.SelfSubjectAccessReviewSpec',
  'authz.SelfSubjectAccessReviewSpec': 'resourceAttributes=1:authz.ResourceAttributes nonResourceAttributes=2:authz.NonResourceAttributes',
  'batch.CronJob': 'metadata=1:meta.ObjectMeta spec=2:batch.CronJobSpec',
  'batch.CronJobSpec': 'schedule=1:s timeZone=8:s startingDeadlineSeconds=2:i concurrencyPolicy=3:s suspend=4:b jobTemplate=5:batch.JobTemplateSpec successfulJobsHistoryLimit=6:i failedJobsHistoryLimit=7:i',
  'batch.Job': 'metadata=1:meta.ObjectMeta spec=2:batch.JobSpec',
  'batch.JobSchedulingConfiguration': '',
  'batch.JobSpec': 'parallelism=1:i completions=2:i activeDeadlineSeconds=3:i podFailurePolicy=11:batch.PodFailurePolicy successPolicy=16:batch.SuccessPolicy backoffLimit=7:i backoffLimitPerIndex=12:i maxFailedIndexes=13:i selector=4:meta.LabelSelector manualSelector=5:b template=6:core.PodTemplateSpec ttlSecondsAfterFinished=8:i completionMode=9:s suspend=10:b podReplacementPolicy=14:s managedBy=15:s scheduling=17:batch.JobSchedulingConfiguration',
  'batch.JobTemplateSpec': 'metadata=1:meta.ObjectMeta spec=2:batch.JobSpec',
  'batch.PodFailurePolicy': 'rules=1:batch.PodFailurePolicyRule*',
  'batch.PodFailurePolicyOnExitCodesRequirement': 'containerName=1:s operator=2:s values=3:i*',
  'batch.PodFailurePolicyOnPodConditionsPattern': 'type=1:s status=2:s',
  'batch.PodFailurePolicyRule': 'action=1:s onExitCodes=2:batch.PodFailurePolicyOnExitCodesRequirement onPodConditions=3:batch.PodFailurePolicyOnPodConditionsPattern*',
  'batch.SuccessPolicy': 'rules=1:batch.SuccessPolicyRule*',
  'batch.SuccessPolicyRule': 'succeededIndexes=1:s succeededCount=2:i',
  'core.AWSElasticBlockStoreVolumeSource': 'volumeID=1:s fsType=2:s partition=3:i readOnly=4:b',
  'core.Affinity': 'nodeAffinity=1:core.NodeAffinity podAffinity=2:core.PodAffinity podAntiAffinity=3:core.PodAntiAffinity',
  'core.AppArmorProfile': 'type=1:s localhostProfile=2:s',
  'core.AzureDiskVolumeSource': 'diskName=1:s diskURI=2:s cachingMode=3:s fsType=4:s readOnly=5:b kind=6:s',
  'core.AzureFileVolumeSource': 'secretName=1:s shareName=2:s readOnly=3:b',
  'core.CSIVolumeSource': 'driver=1:s readOnly=2:b fsType=3:s volumeAttributes=4:{s} nodePublishSecretRef=5:core.LocalObjectReference',
  'core.Capabilities': 'add=1:s* drop=2:s*',
  'core.CephFSVolumeSource': 'monitors=1:s* path=2:s user=3:s secretFile=4:s secretRef=5:core.LocalObjectReference readOnly=6:b',
  'core.CinderVolumeSource': 'volumeID=1:s fsType=2:s readOnly=3:b secretRef=4:core.LocalObjectReference',
  'core.ClientIPConfig': 'timeoutSeconds=1:i',
  'core.ClusterTrustBundleProjection': 'name=1:s signerName=2:s labelSelector=3:meta.LabelSelector optional=5:b path=4:s user=6:i',
  'core.ConfigMap': 'metadata=1:meta.ObjectMeta immutable=4:b data=2:{s} binaryData=3:{y}',
  'core.ConfigMapEnvSource': 'localObjectReference=1:core.LocalObjectReference optional=2:b',
  'core.ConfigMapKeySelector': 'localObjectReference=1:core.LocalObjectReference key=2:s optional=3:b',
  'core.ConfigMapProjection': 'localObjectReference=1:core.LocalObjectReference items=2:core.KeyToPath* optional=4:b',
  'core.ConfigMapVolumeSource': 'localObjectReference=1:core.LocalObjectReference items=2:core.KeyToPath* defaultMode=3:i optional=4:b defaultUser=5:i',
  'core.Container': 'name=1:s image=2:s command=3:s* args=4:s* workingDir=5:s ports=6:core.ContainerPort* envFrom=19:core.EnvFromSource* env=7:core.EnvVar* resources=8:core.ResourceRequirements resizePolicy=23:core.ContainerResizePolicy* restartPolicy=24:s restartPolicyRules=25:core.ContainerRestartRule* volumeMounts=9:core.VolumeMount* volumeDevices=21:core.VolumeDevice* livenessProbe=10:core.Probe readinessProbe=11:core.Probe startupProbe=22:core.Probe lifecycle=12:core.Lifecycle terminationMessagePath=13:s terminationMessagePolicy=20:s imagePullPolicy=14:s securityContext=15:core.SecurityContext stdin=16:b stdinOnce=17:b tty=18:b',
  'core.ContainerPort': 'name=1:s hostPort=2:i containerPort=3:i protocol=4:s hostIP=5:s',
  'core.ContainerResizePolicy': 'resourceName=1:s restartPolicy=2:s',
  'core.ContainerRestartRule': 'action=1:s exitCodes=2:core.ContainerRestartRuleOnExitCodes',
  'core.ContainerRestartRuleOnExitCodes': 'operator=1:s values=2:i*',
  'core.DownwardAPIProjection': 'items=1:core.DownwardAPIVolumeFile*',
  'core.DownwardAPIVolumeFile': 'path=1:s fieldRef=2:core.ObjectFieldSelector resourceFieldRef=3:core.ResourceFieldSelector mode=4:i user=5:i',
  'core.DownwardAPIVolumeSource': 'items=1:core.DownwardAPIVolumeFile* defaultMode=2:i defaultUser=3:i',
  'core.EmptyDirVolumeSource': 'medium=1:s sizeLimit=2:resource.Quantity mode=3:i',
  'core.EnvFromSource': 'prefix=1:s configMapRef=2:core.ConfigMapEnvSource secretRef=3:core.SecretEnvSource',
  'core.EnvVar': 'name=1:s value=2:s valueFrom=3:core.EnvVarSource',
  'core.EnvVarSource': 'fieldRef=1:core.ObjectFieldSelector resourceFieldRef=2:core.ResourceFieldSelector configMapKeyRef=3:core.ConfigMapKeySelector secretKeyRef=4:core.SecretKeySelector fileKeyRef=5:core.FileKeySelector',
  'core.EphemeralContainer': 'ephemeralContainerCommon=1:core.EphemeralContainerCommon targetContainerName=2:s',
  'core.EphemeralContainerCommon': 'name=1:s image=2:s command=3:s* args=4:s* workingDir=5:s ports=6:core.ContainerPort* envFrom=19:core.EnvFromSource* env=7:core.EnvVar* resources=8:core.ResourceRequirements resizePolicy=23:core.ContainerResizePolicy* restartPolicy=24:s restartPolicyRules=25:core.ContainerRestartRule* volumeMounts=9:core.VolumeMount* volumeDevices=21:core.VolumeDevice* livenessProbe=10:core.Probe readinessProbe=11:core.Probe startupProbe=22:core.Probe lifecycle=12:core.Lifecycle terminationMessagePath=13:s terminationMessagePolicy=20:s imagePullPolicy=14:s securityContext=15:core.SecurityContext stdin=16:b stdinOnce=17:b tty=18:b',
  'core.EphemeralVolumeSource': 'volumeClaimTemplate=1:core.PersistentVolumeClaimTemplate',
  'core.EvictionResponder': 'name=1:s priority=2:i',
  'core.ExecAction': 'command=1:s*',
  'core.FCVolumeSource': 'targetWWNs=1:s* lun=2:i fsType=3:s readOnly=4:b wwids=5:s*',
  'core.FileKeySelector': 'volumeName=1:s path=2:s key=3:s optional=4:b',
  'core.FlexVolumeSource': 'driver=1:s fsType=2:s secretRef=3:core.LocalObjectReference readOnly=4:b options=5:{s}',
  'core.FlockerVolumeSource': 'datasetName=1:s datasetUUID=2:s',
  'core.GCEPersistentDiskVolumeSource': 'pdName=1:s fsType=2:s partition=3:i readOnly=4:b',
  'core.GRPCAction': 'port=1:i service=2:s mode=3:s',
  'core.GitRepoVolumeSource': 'repository=1:s revision=2:s directory=3:s',
  'core.GlusterfsVolumeSource': 'endpoints=1:s path=2:s readOnly=3:b',
  'core.HTTPGetAction': 'path=1:s port=2:intstr.IntOrString host=3:s scheme=4:s httpHeaders=5:core.HTTPHeader* protocol=6:s',
  'core.HTTPHeader': 'name=1:s value=2:s',
  'core.HostAlias': 'ip=1:s hostnames=2:s*',
  'core.HostPathVolumeSource': 'path=1:s type=2:s',
  'core.ISCSIVolumeSource': 'targetPortal=1:s iqn=2:s lun=3:i iscsiInterface=4:s fsType=5:s readOnly=6:b portals=7:s* chapAuthDiscovery=8:b chapAuthSession=11:b secretRef=10:core.LocalObjectReference initiatorName=12:s',
  'core.ImageVolumeSource': 'reference=1:s pullPolicy=2:s',
  'core.KeyToPath': 'key=1:s path=2:s mode=3:i user=4:i',
  'core.Lifecycle': 'postStart=1:core.LifecycleHandler preStop=2:core.LifecycleHandler stopSignal=3:s',
  'core.LifecycleHandler': 'exec=1:core.ExecAction httpGet=2:core.HTTPGetAction tcpSocket=3:core.TCPSocketAction sleep=4:core.SleepAction',
  'core.LocalObjectReference': 'name=1:s',
  'core.NFSVolumeSource': 'server=1:s path=2:s readOnly=3:b',
  'core.Namespace': 'metadata=1:meta.ObjectMeta spec=2:core.NamespaceSpec',
  'core.NamespaceSpec': 'finalizers=1:s*',
  'core.NodeAffinity': 'requiredDuringSchedulingIgnoredDuringExecution=1:core.NodeSelector preferredDuringSchedulingIgnoredDuringExecution=2:core.PreferredSchedulingTerm*',
  'core.NodeSelector': 'nodeSelectorTerms=1:core.NodeSelectorTerm*',
  'core.NodeSelectorRequirement': 'key=1:s operator=2:s values=3:s*',
  'core.NodeSelectorTerm': 'matchExpressions=1:core.NodeSelectorRequirement* matchFields=2:core.NodeSelectorRequirement*',
  'core.ObjectFieldSelector': 'apiVersion=1:s fieldPath=2:s',
  'core.ObjectReference': 'kind=1:s namespace=2:s name=3:s uid=4:s apiVersion=5:s resourceVersion=6:s fieldPath=7:s',
  'core.PersistentVolumeClaimSpec': 'accessModes=1:s* selector=4:meta.LabelSelector resources=2:core.VolumeResourceRequirements volumeName=3:s storageClassName=5:s volumeMode=6:s dataSource=7:core.TypedLocalObjectReference dataSourceRef=8:core.TypedObjectReference volumeAttributesClassName=9:s',
  'core.PersistentVolumeClaimTemplate': 'metadata=1:meta.ObjectMeta spec=2:core.PersistentVolumeClaimSpec',
  'core.PersistentVolumeClaimVolumeSource': 'claimName=1:s readOnly=2:b',
  'core.PhotonPersistentDiskVolumeSource': 'pdID=1:s fsType=2:s',
  'core.Pod': 'metadata=1:meta.ObjectMeta spec=2:core.PodSpec',
  'core.PodAffinity': 'requiredDuringSchedulingIgnoredDuringExecution=1:core.PodAffinityTerm* preferredDuringSchedulingIgnoredDuringExecution=2:core.WeightedPodAffinityTerm*',
  'core.PodAffinityTerm': 'labelSelector=1:meta.LabelSelector namespaces=2:s* topologyKey=3:s namespaceSelector=4:meta.LabelSelector matchLabelKeys=5:s* mismatchLabelKeys=6:s*',
  'core.PodAntiAffinity': 'requiredDuringSchedulingIgnoredDuringExecution=1:core.PodAffinityTerm* preferredDuringSchedulingIgnoredDuringExecution=2:core.WeightedPodAffinityTerm*',
  'core.PodCertificateProjection': 'signerName=1:s keyType=2:s maxExpirationSeconds=3:i credentialBundlePath=4:s keyPath=5:s certificateChainPath=6:s userAnnotations=7:{s} user=8:i',
  'core.PodDNSConfig': 'nameservers=1:s* searches=2:s* options=3:core.PodDNSConfigOption*',
  'core.PodDNSConfigOption': 'name=1:s value=2:s',
  'core.PodOS': 'name=1:s',
  'core.PodReadinessGate': 'conditionType=1:s',
  'core.PodResourceClaim': 'name=1:s resourceClaimName=3:s resourceClaimTemplateName=4:s',
  'core.PodSchedulingGate': 'name=1:s',
  'core.PodSchedulingGroup': 'podGroupName=1:s',
  'core.PodSecurityContext': 'seLinuxOptions=1:core.SELinuxOptions windowsOptions=8:core.WindowsSecurityContextOptions runAsUser=2:i runAsGroup=6:i runAsNonRoot=3:b supplementalGroups=4:i* supplementalGroupsPolicy=12:s fsGroup=5:i sysctls=7:core.Sysctl* fsGroupChangePolicy=9:s seccompProfile=10:core.SeccompProfile appArmorProfile=11:core.AppArmorProfile seLinuxChangePolicy=13:s',
  'core.PodSpec': 'volumes=1:core.Volume* initContainers=20:core.Container* containers=2:core.Container* ephemeralContainers=34:core.EphemeralContainer* restartPolicy=3:s terminationGracePeriodSeconds=4:i activeDeadlineSeconds=5:i dnsPolicy=6:s nodeSelector=7:{s} serviceAccountName=8:s serviceAccount=9:s automountServiceAccountToken=21:b nodeName=10:s hostNetwork=11:b hostPID=12:b hostIPC=13:b shareProcessNamespace=27:b securityContext=14:core.PodSecurityContext imagePullSecrets=15:core.LocalObjectReference* hostname=16:s subdomain=17:s affinity=18:core.Affinity schedulerName=19:s tolerations=22:core.Toleration* hostAliases=23:core.HostAlias* priorityClassName=24:s priority=25:i dnsConfig=26:core.PodDNSConfig readinessGates=28:core.PodReadinessGate* runtimeClassName=29:s enableServiceLinks=30:b preemptionPolicy=31:s overhead=32:{resource.Quantity} topologySpreadConstraints=33:core.TopologySpreadConstraint* setHostnameAsFQDN=35:b os=36:core.PodOS hostUsers=37:b schedulingGates=38:core.PodSchedulingGate* resourceClaims=39:core.PodResourceClaim* resources=40:core.ResourceRequirements hostnameOverride=41:s schedulingGroup=43:core.PodSchedulingGroup evictionResponders=44:core.EvictionResponder*',
  'core.PodTemplateSpec': 'metadata=1:meta.ObjectMeta spec=2:core.PodSpec',
  'core.PortworxVolumeSource': 'volumeID=1:s fsType=2:s readOnly=3:b',
  'core.PreferredSchedulingTerm': 'weight=1:i preference=2:core.NodeSelectorTerm',
  'core.Probe': 'handler=1:core.ProbeHandler initialDelaySeconds=2:i timeoutSeconds=3:i periodSeconds=4:i successThreshold=5:i failureThreshold=6:i terminationGracePeriodSeconds=7:i',
  'core.ProbeHandler': 'exec=1:core.ExecAction httpGet=2:core.HTTPGetAction tcpSocket=3:core.TCPSocketAction grpc=4:core.GRPCAction',
  'core.ProjectedVolumeSource': 'sources=1:core.VolumeProjection* defaultMode=2:i defaultUser=3:i',
  'core.QuobyteVolumeSource': 'registry=1:s volume=2:s readOnly=3:b user=4:s group=5:s tenant=6:s',
  'core.RBDVolumeSource': 'monitors=1:s* image=2:s fsType=3:s pool=4:s user=5:s keyring=6:s secretRef=7:core.LocalObjectReference readOnly=8:b',
  'core.ResourceClaim': 'name=1:s request=2:s',
  'core.ResourceFieldSelector': 'containerName=1:s resource=2:s divisor=3:resource.Quantity',
  'core.ResourceRequirements': 'limits=1:{resource.Quantity} requests=2:{resource.Quantity} claims=3:core.ResourceClaim*',
  'core.SELinuxOptions': 'user=1:s role=2:s type=3:s level=4:s',
  'core.ScaleIOVolumeSource': 'gateway=1:s system=2:s secretRef=3:core.LocalObjectReference sslEnabled=4:b protectionDomain=5:s storagePool=6:s storageMode=7:s volumeName=8:s fsType=9:s readOnly=10:b',
  'core.SeccompProfile': 'type=1:s localhostProfile=2:s',
  'core.Secret': 'metadata=1:meta.ObjectMeta immutable=5:b data=2:{y} stringData=4:{s} type=3:s',
  'core.SecretEnvSource': 'localObjectReference=1:core.LocalObjectReference optional=2:b',
  'core.SecretKeySelector': 'localObjectReference=1:core.LocalObjectReference key=2:s optional=3:b',
  'core.SecretProjection': 'localObjectReference=1:core.LocalObjectReference items=2:core.KeyToPath* optional=4:b',
  'core.SecretVolumeSource': 'secretName=1:s items=2:core.KeyToPath* defaultMode=3:i optional=4:b defaultUser=5:i',
  'core.SecurityContext': 'capabilities=1:core.Capabilities privileged=2:b seLinuxOptions=3:core.SELinuxOptions windowsOptions=10:core.WindowsSecurityContextOptions runAsUser=4:i runAsGroup=8:i runAsNonRoot=5:b readOnlyRootFilesystem=6:b allowPrivilegeEscalation=7:b procMount=9:s seccompProfile=11:core.SeccompProfile appArmorProfile=12:core.AppArmorProfile',
  'core.Service': 'metadata=1:meta.ObjectMeta spec=2:core.ServiceSpec',
  'core.ServiceAccount': 'metadata=1:meta.ObjectMeta secrets=2:core.ObjectReference* imagePullSecrets=3:core.LocalObjectReference* automountServiceAccountToken=4:b',
  'core.ServiceAccountTokenProjection': 'audience=1:s expirationSeconds=2:i path=3:s user=4:i',
  'core.ServicePort': 'name=1:s protocol=2:s appProtocol=6:s port=3:i targetPort=4:intstr.IntOrString nodePort=5:i',
  'core.ServiceSpec': 'ports=1:core.ServicePort* selector=2:{s} clusterIP=3:s clusterIPs=18:s* type=4:s externalIPs=5:s* sessionAffinity=7:s loadBalancerIP=8:s loadBalancerSourceRanges=9:s* externalName=10:s externalTrafficPolicy=11:s healthCheckNodePort=12:i publishNotReadyAddresses=13:b sessionAffinityConfig=14:core.SessionAffinityConfig ipFamilies=19:s* ipFamilyPolicy=17:s allocateLoadBalancerNodePorts=20:b loadBalancerClass=21:s internalTrafficPolicy=22:s trafficDistribution=23:s',
  'core.SessionAffinityConfig': 'clientIP=1:core.ClientIPConfig',
  'core.SleepAction': 'seconds=1:i',
  'core.StorageOSVolumeSource': 'volumeName=1:s volumeNamespace=2:s fsType=3:s readOnly=4:b secretRef=5:core.LocalObjectReference',
  'core.Sysctl': 'name=1:s value=2:s',
  'core.TCPSocketAction': 'port=1:intstr.IntOrString host=2:s',
  'core.Toleration': 'key=1:s operator=2:s value=3:s effect=4:s tolerationSeconds=5:i',
  'core.TopologySpreadConstraint': 'maxSkew=1:i topologyKey=2:s whenUnsatisfiable=3:s labelSelector=4:meta.LabelSelector minDomains=5:i nodeAffinityPolicy=6:s nodeTaintsPolicy=7:s matchLabelKeys=8:s*',
  'core.TypedLocalObjectReference': 'apiGroup=1:s kind=2:s name=3:s',
  'core.TypedObjectReference': 'apiGroup=1:s kind=2:s name=3:s namespace=4:s',
  'core.Volume': 'name=1:s volumeSource=2:core.VolumeSource',
  'core.VolumeDevice': 'name=1:s devicePath=2:s',
  'core.VolumeMount': 'name=1:s readOnly=2:b recursiveReadOnly=7:s mountPath=3:s subPath=4:s mountPropagation=5:s subPathExpr=6:s bindMountOptions=8:s*',
  'core.VolumeProjection': 'secret=1:core.SecretProjection downwardAPI=2:core.DownwardAPIProjection configMap=3:core.ConfigMapProjection serviceAccountToken=4:core.ServiceAccountTokenProjection clusterTrustBundle=5:core.ClusterTrustBundleProjection podCertificate=6:core.PodCertificateProjection',
  'core.VolumeResourceRequirements': 'limits=1:{resource.Quantity} requests=2:{resource.Quantity}',
  'core.VolumeSource': 'hostPath=1:core.HostPathVolumeSource emptyDir=2:core.EmptyDirVolumeSource gcePersistentDisk=3:core.GCEPersistentDiskVolumeSource awsElasticBlockStore=4:core.AWSElasticBlockStoreVolumeSource gitRepo=5:core.GitRepoVolumeSource secret=6:core.SecretVolumeSource nfs=7:core.NFSVolumeSource iscsi=8:core.ISCSIVolumeSource glusterfs=9:core.GlusterfsVolumeSource persistentVolumeClaim=10:core.PersistentVolumeClaimVolumeSource rbd=11:core.RBDVolumeSource flexVolume=12:core.FlexVolumeSource cinder=13:core.CinderVolumeSource cephfs=14:core.CephFSVolumeSource flocker=15:core.FlockerVolumeSource downwardAPI=16:core.DownwardAPIVolumeSource fc=17:core.FCVolumeSource azureFile=18:core.AzureFileVolumeSource configMap=19:core.ConfigMapVolumeSource vsphereVolume=20:core.VsphereVirtualDiskVolumeSource quobyte=21:core.QuobyteVolumeSource azureDisk=22:core.AzureDiskVolumeSource photonPersistentDisk=23:core.PhotonPersistentDiskVolumeSource projected=26:core.ProjectedVolumeSource portworxVolume=24:core.PortworxVolumeSource scaleIO=25:core.ScaleIOVolumeSource storageos=27:core.StorageOSVolumeSource csi=28:core.CSIVolumeSource ephemeral=29:core.EphemeralVolumeSource image=30:core.ImageVolumeSource',
  'core.VsphereVirtualDiskVolumeSource': 'volumePath=1:s fsType=2:s storagePolicyName=3:s storagePolicyID=4:s',
  'core.WeightedPodAffinityTerm': 'weight=1:i podAffinityTerm=2:core.PodAffinityTerm',
  'core.WindowsSecurityContextOptions': 'gmsaCredentialSpecName=1:s gmsaCredentialSpec=2:s runAsUserName=3:s hostProcess=4:b',
  'meta.DeleteOptions': 'gracePeriodSeconds=1:i preconditions=2:meta.Preconditions orphanDependents=3:b propagationPolicy=4:s dryRun=5:s* ignoreStoreReadErrorWithClusterBreakingPotential=6:b',
  'meta.FieldSelectorRequirement': 'key=1:s operator=2:s values=3:s*',
  'meta.LabelSelector': 'matchLabels=1:{s} matchExpressions=2:meta.LabelSelectorRequirement*',
  'meta.LabelSelectorRequirement': 'key=1:s operator=2:s values=3:s*',
  'meta.ManagedFieldsEntry': 'manager=1:s operation=2:s apiVersion=3:s time=4:meta.Time fieldsType=6:s fieldsV1=7:meta.FieldsV1 subresource=8:s',
  'meta.ObjectMeta': 'name=1:s generateName=2:s namespace=3:s selfLink=4:s uid=5:s resourceVersion=6:s generation=7:i creationTimestamp=8:meta.Time deletionTimestamp=9:meta.Time deletionGracePeriodSeconds=10:i labels=11:{s} annotations=12:{s} ownerReferences=13:meta.OwnerReference* finalizers=14:s* managedFields=17:meta.ManagedFieldsEntry*',
  'meta.OwnerReference': 'apiVersion=5:s kind=1:s name=3:s uid=4:s controller=6:b blockOwnerDeletion=7:b',
  'meta.Preconditions': 'uid=1:s resourceVersion=2:s',
  'policy.Eviction': 'metadata=1:meta.ObjectMeta deleteOptions=2:meta.DeleteOptions',
  'policy.PodDisruptionBudget': 'metadata=1:meta.ObjectMeta spec=2:policy.PodDisruptionBudgetSpec',
  'policy.PodDisruptionBudgetSpec': 'minAvailable=1:intstr.IntOrString selector=2:meta.LabelSelector maxUnavailable=3:intstr.IntOrString unhealthyPodEvictionPolicy=4:s',
  'rbac.AggregationRule': 'clusterRoleSelectors=1:meta.LabelSelector*',
  'rbac.ClusterRole': 'metadata=1:meta.ObjectMeta rules=2:rbac.PolicyRule* aggregationRule=3:rbac.AggregationRule',
  'rbac.ClusterRoleBinding': 'metadata=1:meta.ObjectMeta subjects=2:rbac.Subject* roleRef=3:rbac.RoleRef',
  'rbac.PolicyRule': 'verbs=1:s* apiGroups=2:s* resources=3:s* resourceNames=4:s* nonResourceURLs=5:s*',
  'rbac.Role': 'metadata=1:meta.ObjectMeta rules=2:rbac.PolicyRule*',
  'rbac.RoleBinding': 'metadata=1:meta.ObjectMeta subjects=2:rbac.Subject* roleRef=3:rbac.RoleRef',
  'rbac.RoleRef': 'apiGroup=1:s kind=2:s name=3:s',
  'rbac.Subject': 'kind=1:s apiGroup=2:s name=3:s namespace=4:s',
};

type Scalar = 's' | 'i' | 'b' | 'y' | 'd' | 'f';
interface Field {
  name: string;
  /** A scalar code or a message name. */
  type: string;
  repeated: boolean;
  map: boolean;
}

const SCALARS = new Set(['s', 'i', 'b', 'y', 'd', 'f']);
const parsed = new Map<string, Map<number, Field>>();

function fieldsOf(message: string): Map<number, Field> {
  let fields = parsed.get(message);
  if (fields) return fields;
  const spec = SCHEMA[message];
  if (spec === undefined) throw new Error(`no protobuf schema for ${message}`);
  fields = new Map();
  for (const tok of spec.split(' ').filter(Boolean)) {
    const m = /^(\w+)=(\d+):(\{)?([\w.]+)\}?(\*)?$/.exec(tok);
    if (!m) throw new Error(`bad protobuf schema entry ${message}: ${tok}`);
    fields.set(Number(m[2]), { name: m[1], type: m[4], map: m[3] === '{', repeated: m[5] === '*' });
  }
  parsed.set(message, fields);
  return fields;
}

/** A cursor over protobuf bytes. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtobufError(400, 'unexpected end of protobuf data');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError(400, 'protobuf varint overflow');
    }
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new ProtobufError(400, 'unexpected end of protobuf data');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  delimited(): Buffer {
    return this.bytes(Number(this.varint()));
  }

  /** Reads a field's value by wire type: a bigint (varint), or the bytes (fixed64, fixed32, length-delimited). */
  value(wire: number): bigint | Buffer {
    switch (wire) {
      case 0:
        return this.varint();
      case 1:
        return this.bytes(8);
      case 2:
        return this.delimited();
      case 5:
        return this.bytes(4);
      default:
        throw new ProtobufError(400, `unsupported protobuf wire type ${wire}`);
    }
  }
}

/** Iterates a message's fields: [field number, wire type, value]. */
function* entries(buf: Buffer): Generator<[number, number, bigint | Buffer]> {
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (num === 0) throw new ProtobufError(400, 'invalid protobuf field number 0');
    yield [num, wire, r.value(wire)];
  }
}

function int(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function scalar(t: Scalar, wire: number, v: bigint | Buffer, where: string): unknown {
  const bad = (): never => {
    throw new ProtobufError(400, `protobuf field ${where}: wire type ${wire} does not fit its type`);
  };
  switch (t) {
    case 's':
      return Buffer.isBuffer(v) && wire === 2 ? v.toString('utf8') : bad();
    case 'y':
      return Buffer.isBuffer(v) && wire === 2 ? v.toString('base64') : bad();
    case 'i':
      return typeof v === 'bigint' ? int(v) : bad();
    case 'b':
      return typeof v === 'bigint' ? v !== 0n : bad();
    case 'd':
      return Buffer.isBuffer(v) && wire === 1 ? v.readDoubleLE(0) : bad();
    case 'f':
      return Buffer.isBuffer(v) && wire === 5 ? v.readFloatLE(0) : bad();
  }
}

/** Packed repeated numbers (proto2 k8s messages are not packed, but a decoder must accept both). */
function packed(t: Scalar, buf: Buffer): unknown[] {
  const r = new Reader(buf);
  const out: unknown[] = [];
  while (!r.done) {
    if (t === 'd') out.push(r.bytes(8).readDoubleLE(0));
    else if (t === 'f') out.push(r.bytes(4).readFloatLE(0));
    else {
      const v = r.varint();
      out.push(t === 'b' ? v !== 0n : int(v));
    }
  }
  return out;
}

function decodeValue(type: string, wire: number, v: bigint | Buffer, where: string): unknown {
  if (SCALARS.has(type)) return scalar(type as Scalar, wire, v, where);
  if (!Buffer.isBuffer(v) || wire !== 2) throw new ProtobufError(400, `protobuf field ${where}: expected a message`);
  return decodeMessage(type, v);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function timestamp(seconds: number, nanos: number, digits: number): string {
  const d = new Date(seconds * 1000);
  const frac = digits > 0 ? `.${pad(Math.floor(nanos / 10 ** (9 - digits)), digits)}` : '';
  return `${d.toISOString().slice(0, 19)}${frac}Z`;
}

/** Go's time.Duration.String(), as metav1.Duration marshals to JSON. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trim(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trim(n / 1e6)}ms`;
  let out = '';
  const h = Math.floor(n / 3.6e12);
  n -= h * 3.6e12;
  const m = Math.floor(n / 6e10);
  n -= m * 6e10;
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  return `${sign}${out}${trim(n / 1e9)}s`;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** Messages with a non-object JSON form. Returns undefined to leave the field out. */
function special(message: string, buf: Buffer): { value: unknown } | undefined {
  const f = new Map<number, bigint | Buffer>();
  switch (message) {
    case 'meta.Time':
    case 'meta.MicroTime':
    case 'meta.Duration':
    case 'resource.Quantity':
    case 'intstr.IntOrString':
    case 'runtime.RawExtension':
    case 'meta.FieldsV1':
      for (const [num, , v] of entries(buf)) f.set(num, v);
      break;
    default:
      return undefined;
  }
  const num = (k: number): number => {
    const v = f.get(k);
    return typeof v === 'bigint' ? int(v) : 0;
  };
  const str = (k: number): string => {
    const v = f.get(k);
    return Buffer.isBuffer(v) ? v.toString('utf8') : '';
  };
  switch (message) {
    case 'meta.Time':
    case 'meta.MicroTime':
      // A zero time marshals to an empty message: the field is unset (null in JSON).
      if (f.size === 0) return { value: undefined };
      return { value: timestamp(num(1), num(2), message === 'meta.MicroTime' ? 6 : 0) };
    case 'meta.Duration':
      return { value: goDuration(num(1)) };
    case 'resource.Quantity':
      return { value: str(1) };
    case 'intstr.IntOrString':
      return { value: num(1) === 1 ? str(3) : num(2) };
    default: {
      // RawExtension, FieldsV1: embedded JSON bytes.
      const raw = f.get(1);
      if (!Buffer.isBuffer(raw) || raw.length === 0) return { value: undefined };
      try {
        return { value: JSON.parse(raw.toString('utf8')) as unknown };
      } catch {
        throw new ProtobufError(400, `${message}: embedded data is not JSON`);
      }
    }
  }
}

/** Decodes one message (by its SCHEMA name) into its JSON object. */
export function decodeMessage(message: string, buf: Buffer): unknown {
  const sp = special(message, buf);
  if (sp) return sp.value;
  const fields = fieldsOf(message);
  const out: Record<string, unknown> = {};
  for (const [num, wire, v] of entries(buf)) {
    const field = fields.get(num);
    if (!field) continue; // unknown (newer, or status) field: skipped
    const where = `${message}.${field.name}`;
    if (field.map) {
      if (!Buffer.isBuffer(v) || wire !== 2) throw new ProtobufError(400, `protobuf field ${where}: expected a map entry`);
      let key = '';
      let value: unknown = SCALARS.has(field.type) ? (field.type === 'i' ? 0 : field.type === 'b' ? false : '') : {};
      for (const [en, ew, ev] of entries(v)) {
        if (en === 1) key = String(scalar('s', ew, ev, `${where} key`));
        else if (en === 2) value = decodeValue(field.type, ew, ev, where);
      }
      const m = (out[field.name] ??= {}) as Record<string, unknown>;
      m[key] = value;
    } else if (field.repeated) {
      const list = (out[field.name] ??= []) as unknown[];
      if (wire === 2 && SCALARS.has(field.type) && field.type !== 's' && field.type !== 'y' && Buffer.isBuffer(v)) {
        list.push(...packed(field.type as Scalar, v));
      } else {
        list.push(decodeValue(field.type, wire, v, where));
      }
    } else {
      const value = decodeValue(field.type, wire, v, where);
      // Go marshals every non-pointer field; an empty string is how an unset `omitempty` string arrives.
      if (value === undefined || value === '') delete out[field.name];
      else out[field.name] = value;
    }
  }
  return out;
}

/** True for `application/vnd.kubernetes.protobuf` (with or without parameters; not the `;stream=watch` form). */
export function isProtobufContentType(contentType: string | undefined): boolean {
  return /^\s*application\/vnd\.kubernetes\.protobuf\s*(;|$)/i.test(contentType ?? '');
}

/**
 * Decodes a protobuf request body (envelope and object) into the object's JSON form, with apiVersion and kind.
 * Throws ProtobufError: 400 for malformed data, 415 for a kind this server cannot decode.
 */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < PROTOBUF_MAGIC.length || !body.subarray(0, PROTOBUF_MAGIC.length).equals(PROTOBUF_MAGIC)) {
    throw new ProtobufError(400, `provided data does not appear to be a protobuf message, expected prefix [${[...PROTOBUF_MAGIC].join(' ')}]`);
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  let contentEncoding = '';
  for (const [num, wire, v] of entries(body.subarray(PROTOBUF_MAGIC.length))) {
    if (num === 1 && wire === 2 && Buffer.isBuffer(v)) {
      for (const [tn, tw, tv] of entries(v)) {
        if (tn === 1) apiVersion = String(scalar('s', tw, tv, 'TypeMeta.apiVersion'));
        else if (tn === 2) kind = String(scalar('s', tw, tv, 'TypeMeta.kind'));
      }
    } else if (num === 2 && wire === 2 && Buffer.isBuffer(v)) raw = v;
    else if (num === 3 && wire === 2 && Buffer.isBuffer(v)) contentEncoding = v.toString('utf8');
  }
  if (contentEncoding) throw new ProtobufError(415, `protobuf content encoding ${contentEncoding} is not supported`);
  // DeleteOptions travel with the group version of the resource they delete (or meta.k8s.io/v1).
  const message = kind === 'DeleteOptions' ? 'meta.DeleteOptions' : KINDS[`${apiVersion}/${kind}`];
  if (!message) {
    throw new ProtobufError(415, `the body of type application/vnd.kubernetes.protobuf is unsupported for ${kind || 'unknown kind'} ${apiVersion}, use application/json`);
  }
  const obj = decodeMessage(message, raw) as Record<string, unknown>;
  return { apiVersion, kind, ...obj };
}
