package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parity-ci/parity/policies"
)

// CI is what a front door knows of the CI system it runs in, for
// --cache-trust=auto: its environment, and GitHub's event payload (the
// file $GITHUB_EVENT_PATH names), which alone says which branch is the
// repository's default.
type CI struct {
	Getenv func(string) string
	Event  []byte // nil when there is none
}

// ResolveTrust decides whether a run may write the caches later runs read:
// the user's --cache-trust, or for auto what the CI's environment says. The
// default branch of the repository is trusted; pull requests (forks among
// them), other branches and tags are not; so is any CI Parity cannot read.
// Outside CI a run is the machine owner's own: trusted. The reason says
// which it was, for the cache-trust decision.
func ResolveTrust(flag string, ci CI) (policies.Trust, string, error) {
	t, err := policies.ParseTrust(flag)
	if err != nil {
		return "", "", fmt.Errorf("--cache-trust: %w", err)
	}
	if t != policies.TrustAuto {
		return t, "--cache-trust=" + string(t), nil
	}
	env := ci.Getenv
	if env == nil {
		env = func(string) string { return "" }
	}
	switch {
	case env("GITHUB_ACTIONS") == "true":
		return githubTrust(env, ci.Event)
	case env("GITLAB_CI") == "true":
		switch {
		case env("CI_MERGE_REQUEST_IID") != "":
			return policies.Untrusted, "a merge request pipeline in GitLab CI", nil
		case env("CI_COMMIT_BRANCH") != "" && env("CI_COMMIT_BRANCH") == env("CI_DEFAULT_BRANCH"):
			return policies.Trusted, "GitLab CI on the default branch " + env("CI_DEFAULT_BRANCH"), nil
		}
		return policies.Untrusted, "GitLab CI, not on the default branch " + orUnknown(env("CI_DEFAULT_BRANCH")), nil
	case env("BUILDKITE") == "true":
		switch pr := env("BUILDKITE_PULL_REQUEST"); {
		case pr != "" && pr != "false":
			return policies.Untrusted, "a pull request build in Buildkite", nil
		case env("BUILDKITE_BRANCH") != "" && env("BUILDKITE_BRANCH") == env("BUILDKITE_PIPELINE_DEFAULT_BRANCH"):
			return policies.Trusted, "Buildkite on the default branch " + env("BUILDKITE_PIPELINE_DEFAULT_BRANCH"), nil
		}
		return policies.Untrusted, "Buildkite, not on the default branch " + orUnknown(env("BUILDKITE_PIPELINE_DEFAULT_BRANCH")), nil
	case env("CI") != "":
		return policies.Untrusted, "a CI Parity cannot read (give --cache-trust=trusted on the default branch)", nil
	}
	return policies.Trusted, "a run outside CI", nil
}

// githubTrust: pull_request and pull_request_target events (a fork's
// among them) are untrusted; a push or other event is trusted only on the
// default branch, which GitHub names in the event's repository.
func githubTrust(env func(string) string, event []byte) (policies.Trust, string, error) {
	name := env("GITHUB_EVENT_NAME")
	if strings.HasPrefix(name, "pull_request") {
		return policies.Untrusted, "a " + name + " event in GitHub Actions", nil
	}
	var ev struct {
		Repository struct {
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
	}
	if len(event) > 0 {
		_ = json.Unmarshal(event, &ev) // unreadable: no default branch known
	}
	def := ev.Repository.DefaultBranch
	ref := env("GITHUB_REF")
	if def != "" && ref == "refs/heads/"+def {
		return policies.Trusted, "GitHub Actions on the default branch " + def, nil
	}
	return policies.Untrusted, fmt.Sprintf("GitHub Actions on %s, not the default branch %s", orUnknown(ref), orUnknown(def)), nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
