// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// k8sObject is what TestKubernetesManifest reads of the objects of
// deploy/kubernetes/otelcol-anthropic.yaml.
type k8sObject struct {
	Kind string            `mapstructure:"kind"`
	Data map[string]string `mapstructure:"data"`
	Spec struct {
		Replicas *int `mapstructure:"replicas"`
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `mapstructure:"runAsNonRoot"`
				} `mapstructure:"securityContext"`
				Containers []struct {
					Args []string `mapstructure:"args"`
					Env  []struct {
						Name      string `mapstructure:"name"`
						Value     string `mapstructure:"value"`
						ValueFrom struct {
							SecretKeyRef struct {
								Name string `mapstructure:"name"`
								Key  string `mapstructure:"key"`
							} `mapstructure:"secretKeyRef"`
						} `mapstructure:"valueFrom"`
					} `mapstructure:"env"`
					VolumeMounts []struct {
						Name      string `mapstructure:"name"`
						MountPath string `mapstructure:"mountPath"`
					} `mapstructure:"volumeMounts"`
				} `mapstructure:"containers"`
			} `mapstructure:"spec"`
		} `mapstructure:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `mapstructure:"name"`
			} `mapstructure:"metadata"`
		} `mapstructure:"volumeClaimTemplates"`
	} `mapstructure:"spec"`
}

func decodeYAML(t *testing.T, what string, b []byte, v any) {
	t.Helper()
	r, err := confmap.NewRetrievedFromYAML(b)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	conf, err := r.AsConf()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := conf.Unmarshal(v, confmap.WithIgnoreUnused()); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestKubernetesManifest checks deploy/kubernetes/otelcol-anthropic.yaml
// without a cluster: the collector configuration in its ConfigMap passes
// `otelcol-anthropic validate`; the StatefulSet runs one replica, not as
// root, with the configuration mounted where its args read it, the admin
// key from a Secret, and file_storage's directory on a volume claimed per
// pod (the checkpoints outlive the pod).
func TestKubernetesManifest(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "otelcol-anthropic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm, sts *k8sObject
	for i, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(b), -1) {
		var o k8sObject
		decodeYAML(t, fmt.Sprintf("document %d", i+1), []byte(doc), &o)
		switch o.Kind {
		case "ConfigMap":
			cm = &o
		case "StatefulSet":
			sts = &o
		}
	}
	if cm == nil || sts == nil {
		t.Fatalf("the manifest needs a ConfigMap and a StatefulSet (ConfigMap %v, StatefulSet %v)", cm != nil, sts != nil)
	}
	config := cm.Data["config.yaml"]
	file := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, file, config)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, otelcolBin(t), "validate", "--config", file)
	cmd.Env = append(cmd.Environ(), dummyEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the ConfigMap's config.yaml does not validate: %v\n%s", err, out)
	}
	var col struct {
		Receivers struct {
			Usage struct {
				Storage    string `mapstructure:"storage"`
				ClaudeCode struct {
					Actor string `mapstructure:"actor"`
				} `mapstructure:"claude_code"`
			} `mapstructure:"anthropic_usage"`
		} `mapstructure:"receivers"`
		Extensions struct {
			FileStorage struct {
				Directory string `mapstructure:"directory"`
			} `mapstructure:"file_storage"`
		} `mapstructure:"extensions"`
	}
	decodeYAML(t, "config.yaml", []byte(config), &col)
	if col.Receivers.Usage.Storage != "file_storage" || col.Extensions.FileStorage.Directory == "" {
		t.Errorf("the receiver keeps no checkpoints in file_storage: storage %q, directory %q", col.Receivers.Usage.Storage, col.Extensions.FileStorage.Directory)
	}
	if col.Receivers.Usage.ClaudeCode.Actor != "drop" {
		t.Errorf("claude_code.actor is %q: personal data by default", col.Receivers.Usage.ClaudeCode.Actor)
	}

	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
		t.Errorf("StatefulSet replicas %v, want exactly 1: two replicas count everything twice", fmtReplicas(sts.Spec.Replicas))
	}
	pod := sts.Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	claimed := map[string]bool{}
	for _, v := range sts.Spec.VolumeClaimTemplates {
		claimed[v.Metadata.Name] = true
	}
	if name := mounts[col.Extensions.FileStorage.Directory]; !claimed[name] {
		t.Errorf("file_storage's directory %s is not on a volume claim template (mounted volume %q)", col.Extensions.FileStorage.Directory, name)
	}
	args := strings.Join(c.Args, " ")
	if m := regexp.MustCompile(`--config (\S+)/config.yaml`).FindStringSubmatch(args); m == nil || mounts[m[1]] != "config" {
		t.Errorf("args %q do not read config.yaml from the ConfigMap's mount (%v)", args, mounts)
	}
	keyFromSecret := false
	for _, e := range c.Env {
		if e.Name == "ANTHROPIC_ADMIN_API_KEY" {
			keyFromSecret = e.Value == "" && e.ValueFrom.SecretKeyRef.Name != "" && e.ValueFrom.SecretKeyRef.Key != ""
		}
	}
	if !keyFromSecret {
		t.Error("ANTHROPIC_ADMIN_API_KEY does not come from a Secret")
	}
}

func fmtReplicas(n *int) string {
	if n == nil {
		return "unset (1 by default, but say it)"
	}
	return fmt.Sprint(*n)
}

// TestNoPersonalDataByDefault: every configuration the project ships that
// reads Claude Code (examples/, config/, the Kubernetes ConfigMap) drops the
// actor. (The e2e test's own configuration, reading the simulator's
// synthetic people, is not among them.)
func TestNoPersonalDataByDefault(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join(root, "config", "*.yaml"))
	files = append(files, more...)
	type receiver struct {
		Receivers struct {
			Usage struct {
				ClaudeCode struct {
					Enabled bool   `mapstructure:"enabled"`
					Actor   string `mapstructure:"actor"`
				} `mapstructure:"claude_code"`
			} `mapstructure:"anthropic_usage"`
		} `mapstructure:"receivers"`
	}
	configs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		configs[rel] = b
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "otelcol-anthropic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(b), -1) {
		var o k8sObject
		decodeYAML(t, "deploy/kubernetes/otelcol-anthropic.yaml", []byte(doc), &o)
		if o.Kind == "ConfigMap" {
			configs["deploy/kubernetes/otelcol-anthropic.yaml"] = []byte(o.Data["config.yaml"])
		}
	}
	if len(configs) < 10 {
		t.Fatalf("only %d configurations found", len(configs))
	}
	for name, b := range configs {
		var r receiver
		decodeYAML(t, name, b, &r)
		if cc := r.Receivers.Usage.ClaudeCode; cc.Enabled && cc.Actor != "drop" {
			t.Errorf("%s reads Claude Code with actor %q: emails or key names by default", name, cc.Actor)
		}
	}
}
