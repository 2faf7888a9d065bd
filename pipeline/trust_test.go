package pipeline

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/policies"
)

func TestResolveTrust(t *testing.T) {
	push := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r","default_branch":"main"}}`)
	for _, c := range []struct {
		name   string
		flag   string
		env    map[string]string
		event  []byte
		want   policies.Trust
		reason string
	}{
		{"outside CI", "", nil, nil, policies.Trusted, "outside CI"},
		{"given", "untrusted", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}, push, policies.Untrusted, "--cache-trust=untrusted"},
		{"given trusted", "trusted", map[string]string{"CI": "true"}, nil, policies.Trusted, "--cache-trust=trusted"},
		{"github default branch", "auto", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}, push, policies.Trusted, "default branch main"},
		{"github other branch", "auto", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/feature"}, push, policies.Untrusted, "refs/heads/feature"},
		{"github pull request", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge"}, push, policies.Untrusted, "pull_request event"},
		{"github pull_request_target", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_REF": "refs/heads/main"}, push, policies.Untrusted, "pull_request_target"},
		{"github tag", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/v1"}, push, policies.Untrusted, "refs/tags/v1"},
		{"github no event file", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}, nil, policies.Untrusted, "(unknown)"},
		{"github event unreadable", "", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}, []byte("{"), policies.Untrusted, "(unknown)"},
		{"gitlab default branch", "", map[string]string{"GITLAB_CI": "true", "CI": "true", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}, nil, policies.Trusted, "GitLab CI on the default branch main"},
		{"gitlab merge request", "", map[string]string{"GITLAB_CI": "true", "CI": "true", "CI_MERGE_REQUEST_IID": "3", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}, nil, policies.Untrusted, "merge request"},
		{"gitlab tag", "", map[string]string{"GITLAB_CI": "true", "CI": "true", "CI_COMMIT_TAG": "v1", "CI_DEFAULT_BRANCH": "main"}, nil, policies.Untrusted, "not on the default branch main"},
		{"buildkite default branch", "", map[string]string{"BUILDKITE": "true", "CI": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_PIPELINE_DEFAULT_BRANCH": "main", "BUILDKITE_PULL_REQUEST": "false"}, nil, policies.Trusted, "Buildkite on the default branch"},
		{"buildkite pull request", "", map[string]string{"BUILDKITE": "true", "CI": "true", "BUILDKITE_BRANCH": "main", "BUILDKITE_PIPELINE_DEFAULT_BRANCH": "main", "BUILDKITE_PULL_REQUEST": "12"}, nil, policies.Untrusted, "pull request"},
		{"unknown CI", "", map[string]string{"CI": "true"}, nil, policies.Untrusted, "cannot read"},
	} {
		got, why, err := ResolveTrust(c.flag, CI{Getenv: func(k string) string { return c.env[k] }, Event: c.event})
		if err != nil || got != c.want || !strings.Contains(why, c.reason) {
			t.Errorf("%s: %s (%q), %v; want %s (~%q)", c.name, got, why, err, c.want, c.reason)
		}
	}
	if _, _, err := ResolveTrust("yes", CI{}); err == nil || !strings.Contains(err.Error(), "--cache-trust") {
		t.Errorf("a bad value: %v", err)
	}
}

// TestTrustReachesThePlan: the CI's word reaches the cells' decisions.
func TestTrustReachesThePlan(t *testing.T) {
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"}
	r, err := Args{Go: []string{"1.27.1"}}.Request(Host{CI: CI{Getenv: func(k string) string { return env[k] }}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(inputs(t, "module example.com/a\n", r), docker)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Specs[0].Decisions {
		if d.Policy == policies.IDCacheTrust {
			if d.Effect != "untrusted" || !strings.Contains(d.Reason, "pull_request event") {
				t.Fatalf("decision %+v", d)
			}
			return
		}
	}
	t.Fatal("no cache-trust decision")
}
