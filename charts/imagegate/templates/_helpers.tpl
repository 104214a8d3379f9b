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

{{/* The Secret holding tls.crt, tls.key and ca.crt (chart-generated or written by cert-manager). */}}
{{- define "imagegate.tlsSecretName" -}}
{{- printf "%s-tls" (include "imagegate.fullname" .) -}}
{{- end -}}

{{/* The name the API server dials, and the serving certificate's SAN. */}}
{{- define "imagegate.serviceHost" -}}
{{- printf "%s.%s.svc" (include "imagegate.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "imagegate.policyConfigMapName" -}}
{{- default (printf "%s-policy" (include "imagegate.fullname" .)) .Values.existingPolicyConfigMap -}}
{{- end -}}

{{/* What the validating and the mutating webhook share: the request scope. */}}
{{- define "imagegate.webhookScope" -}}
admissionReviewVersions: [v1]
sideEffects: NoneOnDryRun
matchPolicy: Equivalent
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml (concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces | uniq) | nindent 8 }}
    - key: {{ .Values.webhook.optOutLabel }}
      operator: NotIn
      values: ["true"]
{{- with .Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
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
{{- end -}}
