{{/* Chart name, possibly overridden. */}}
{{- define "imagegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, plus the chart name unless the release name already contains it. */}}
{{- define "imagegate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "imagegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "imagegate.labels" -}}
helm.sh/chart: {{ include "imagegate.chart" . }}
{{ include "imagegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The pods' identity: Deployment, Service, PDB, NetworkPolicy and affinity select on these. */}}
{{- define "imagegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imagegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "imagegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "imagegate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "imagegate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tls.crt and tls.key (and ca.crt): yours, chart-generated or written by cert-manager. */}}
{{- define "imagegate.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "imagegate.fullname" .)) .Values.tls.existingSecret.name -}}
{{- end -}}

{{/* The name the API server dials, and the serving certificate's SAN. */}}
{{- define "imagegate.serviceHost" -}}
{{- printf "%s.%s.svc" (include "imagegate.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "imagegate.policyConfigMapName" -}}
{{- default (printf "%s-policy" (include "imagegate.fullname" .)) .Values.existingPolicyConfigMap -}}
{{- end -}}

{{/*
Which requests reach every webhook (the validating, inventory and mutating ones alike): the namespaceSelector
(the release namespace, kube-system, webhook.excludeNamespaces and the opt-out label always left out, ANDed
with webhook.namespaceSelector), the objectSelector and the CEL matchConditions.
*/}}
{{- define "imagegate.webhookMatch" -}}
namespaceSelector:
  {{- with .Values.webhook.namespaceSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml (concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces | uniq) | nindent 8 }}
    - key: {{ .Values.webhook.optOutLabel }}
      operator: NotIn
      values: ["true"]
    {{- with .Values.webhook.namespaceSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- with .Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.webhook.matchConditions }}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Labels of the webhook configurations: the chart's and webhook.labels. */}}
{{- define "imagegate.webhookLabels" -}}
{{ include "imagegate.labels" . }}
{{- with .Values.webhook.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* What the validating and the mutating webhook share: the request scope. */}}
{{- define "imagegate.webhookScope" -}}
admissionReviewVersions: [v1]
sideEffects: NoneOnDryRun
matchPolicy: Equivalent
{{ include "imagegate.webhookMatch" . }}
rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [pods, pods/ephemeralcontainers, replicationcontrollers, podtemplates]
    scope: Namespaced
  - apiGroups: [apps]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [deployments, replicasets, statefulsets, daemonsets]
    scope: Namespaced
  - apiGroups: [batch]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [jobs, cronjobs]
    scope: Namespaced
{{- end -}}

{{/* The server's config file. */}}
{{- define "imagegate.serverConfig" -}}
listen: {{ printf "0.0.0.0:%d" (int .Values.server.port) | quote }}
policy: /etc/imagegate/policy/policy.yaml
policyReloadInterval: {{ .Values.server.reloadInterval }}
threads: {{ int .Values.server.threads }}
gracePeriod: {{ printf "%ds" (int .Values.server.gracePeriodSeconds) }}
maxConnections: {{ int .Values.server.maxConnections }}
maxBudget: {{ .Values.server.maxBudget }}
tls:
  certFile: /etc/imagegate/tls/tls.crt
  keyFile: /etc/imagegate/tls/tls.key
  {{- with .Values.server.clientCAFile }}
  clientCAFile: {{ . }}
  {{- end }}
  reloadInterval: {{ .Values.server.reloadInterval }}
timeouts:
  handshake: {{ .Values.server.timeouts.handshake }}
  idle: {{ .Values.server.timeouts.idle }}
  read: {{ .Values.server.timeouts.read }}
  write: {{ .Values.server.timeouts.write }}
{{- with .Values.registry }}
registry:
  caFiles: [
    {{- range $i, $b := .caBundles }}{{ if $i }}, {{ end }}{{ printf "/etc/imagegate/registry/ca/%d/%s" $i $b.key | quote }}{{ end -}}
  ]
  registryCAFiles: {
    {{- range $j, $host := keys .registryCABundles | sortAlpha }}{{ if $j }}, {{ end }}{{ $host | quote }}: [
      {{- range $i, $b := index $.Values.registry.registryCABundles $host }}{{ if $i }}, {{ end }}{{ printf "%s/%s" (include "imagegate.registryHostCADir" (list $host $i)) $b.key | quote }}{{ end -}}
    ]{{ end -}}
  }
  dockerConfigFiles: [
    {{- range $i, $name := .credentials.existingSecrets }}{{ if $i }}, {{ end }}{{ printf "/etc/imagegate/registry/auth/%s/config.json" $name | quote }}{{ end -}}
    {{- if .credentials.auths }}{{ if .credentials.existingSecrets }}, {{ end }}"/etc/imagegate/registry/auth/chart/config.json"{{ end -}}
  ]
  insecureRegistries: {{ toJson .insecureRegistries }}
  legacyTLSRegistries: {{ toJson .legacyTLSRegistries }}
  allowedPrivateAddresses: {{ toJson .allowedPrivateAddresses }}
  authHosts: {{ toJson .authHosts }}
  blobHosts: {{ toJson .blobHosts }}
  timeout: {{ .timeout }}
  tagCacheTTL: {{ .tagCacheTTL }}
  digestCacheTTL: {{ .digestCacheTTL }}
  negativeCacheTTL: {{ .negativeCacheTTL }}
  staleIfError: {{ .staleIfError }}
  maxConcurrentPerReview: {{ int .maxConcurrentPerReview }}
  maxConcurrentPerRegistry: {{ int .maxConcurrentPerRegistry }}
{{- end }}
{{- with .Values.signatures }}
signatures:
  maxSignatures: {{ int .maxSignatures }}
  maxPayloadBytes: {{ int .maxPayloadBytes }}
  cacheTTL: {{ .cacheTTL }}
  trustReloadInterval: {{ .trustReloadInterval }}
{{- end }}
{{- if .Values.verdicts.api.enabled }}
apiListen: {{ printf "0.0.0.0:%d" (int .Values.verdicts.api.port) | quote }}
apiTokenFile: /etc/imagegate/api/tokens
{{- /* The console's section only when it differs from the server's defaults (on, 1000). */}}
{{- if or (not .Values.console.enabled) (ne (int .Values.console.recentDecisions) 1000) }}
console:
  enabled: {{ .Values.console.enabled }}
  recentDecisions: {{ int .Values.console.recentDecisions }}
{{- end }}
{{- end }}
{{- if eq .Values.verdicts.store.type "sqlite" }}
store: sqlite:/var/lib/imagegate/verdicts.db
{{- else if and (eq .Values.verdicts.store.type "redis") (not .Values.verdicts.store.redis.existingSecret) }}
store: {{ required "verdicts.store.redis.url (or existingSecret) is required with store type redis" .Values.verdicts.store.redis.url | quote }}
{{- end }}
verdictCacheTTL: {{ .Values.verdicts.cacheTTL }}
{{- end -}}

{{/* Where the i-th CA bundle of one registry is mounted: list HOST INDEX. */}}
{{- define "imagegate.registryHostCADir" -}}
{{- printf "/etc/imagegate/registry/ca/%s/%d" (index . 0 | replace ":" "_") (index . 1) -}}
{{- end -}}

{{/* A volume name for the i-th CA bundle of one registry (volume names are DNS labels: no dots). */}}
{{- define "imagegate.registryHostCAVolume" -}}
{{- printf "registry-ca-%s-%d" (index . 0 | sha256sum | trunc 10) (index . 1) -}}
{{- end -}}

{{/* Checks that values which only make sense together are given together. */}}
{{- define "imagegate.validateValues" -}}
{{- if and .Values.verdicts.api.enabled (eq .Values.verdicts.store.type "none") -}}
{{- fail "verdicts.api.enabled needs verdicts.store.type sqlite or redis (the API stores what it receives)" -}}
{{- end -}}
{{- if and .Values.verdicts.api.enabled (not .Values.verdicts.api.tokens.existingSecret) (not .Values.verdicts.api.tokens.lines) -}}
{{- fail "verdicts.api.enabled needs tokens: verdicts.api.tokens.existingSecret or verdicts.api.tokens.lines" -}}
{{- end -}}
{{- if and .Values.verdicts.api.enabled (eq (int .Values.verdicts.api.port) (int .Values.server.port)) -}}
{{- fail "verdicts.api.port must differ from server.port" -}}
{{- end -}}
{{- if .Values.metrics.plainHTTP.enabled -}}
{{- if eq (int .Values.metrics.plainHTTP.port) (int .Values.server.port) -}}
{{- fail "metrics.plainHTTP.port must differ from server.port" -}}
{{- end -}}
{{- if and .Values.verdicts.api.enabled (eq (int .Values.metrics.plainHTTP.port) (int .Values.verdicts.api.port)) -}}
{{- fail "metrics.plainHTTP.port must differ from verdicts.api.port" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled .Values.tls.existingSecret.name -}}
{{- fail "tls.existingSecret.name and tls.certManager.enabled exclude each other: the certificate is either yours or cert-manager's" -}}
{{- end -}}
{{- end -}}

{{/* Replicas: an SQLite verdict store is one file on one volume, so it forces one replica. */}}
{{- define "imagegate.replicas" -}}
{{- if eq .Values.verdicts.store.type "sqlite" -}}1{{- else -}}{{ int .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* A volume source projecting one key of an existing Secret or ConfigMap: {secret|configMap, key}. */}}
{{- define "imagegate.fileSource" -}}
{{- if .secret -}}
secret:
  secretName: {{ .secret }}
{{- else -}}
configMap:
  name: {{ required "a CA bundle entry needs secret or configMap" .configMap }}
{{- end }}
  items:
    - key: {{ .key }}
      path: {{ .key }}
{{- end -}}

{{- define "imagegate.verdictClaimName" -}}
{{- default (printf "%s-verdicts" (include "imagegate.fullname" .)) .Values.verdicts.store.sqlite.existingClaim -}}
{{- end -}}

{{/*
A Notation trust policy and trust store from one Secret or ConfigMap (trust.notation entry): the trust policy
key at trustpolicy.json, each certificate at truststore/x509/<store>/<key>, notation's own layout.
*/}}
{{- define "imagegate.notationSource" -}}
{{- if .secret -}}
secret:
  secretName: {{ .secret }}
{{- else -}}
configMap:
  name: {{ required "a trust.notation entry needs secret or configMap" .configMap }}
{{- end }}
  items:
    - key: {{ .trustPolicyKey | default "trustpolicy.json" }}
      path: trustpolicy.json
    {{- range .certificates }}
    - key: {{ .key }}
      path: truststore/x509/{{ .store }}/{{ .key }}
    {{- end }}
{{- end -}}

{{- define "imagegate.hookImage" -}}
{{- if .Values.hooks.image.digest -}}
{{- printf "%s@%s" .Values.hooks.image.repository .Values.hooks.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.hooks.image.repository .Values.hooks.image.tag -}}
{{- end -}}
{{- end -}}

{{/* The hooks' pod and container security: restricted, like the server's defaults. */}}
{{- define "imagegate.hookPodSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "imagegate.hookContainerSecurity" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The webhook configurations this release owns, as API paths: what the pre-delete hook removes. */}}
{{- define "imagegate.webhookPaths" -}}
{{- $paths := list (printf "validatingwebhookconfigurations/%s" (include "imagegate.fullname" .)) -}}
{{- if .Values.mutatingWebhook.enabled -}}
{{- $paths = append $paths (printf "mutatingwebhookconfigurations/%s" (include "imagegate.fullname" .)) -}}
{{- end -}}
{{- join " " $paths -}}
{{- end -}}
