package dockerengine

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// dockerDefaultSeccomp is Docker's default seccomp profile, default.json of
// github.com/moby/profiles/seccomp v0.3.0 (Apache-2.0, The Moby Authors),
// the profile Docker 28 applies. Embedded rather than imported: that module
// is not otherwise a dependency, and the file is the profile itself.
//
//go:embed seccomp_default.json
var dockerDefaultSeccomp []byte

// tracingSyscalls are what --ptrace=off refuses: attaching to a process and
// reading or writing another process's memory.
var tracingSyscalls = []string{"ptrace", "process_vm_readv", "process_vm_writev"}

// noPtraceProfile is Docker's default profile with the tracing syscalls
// removed from every rule, so the profile's default action (EPERM) refuses
// them whatever capabilities a step holds. Computed once; the JSON goes to
// the daemon as SecurityOpt "seccomp=<json>".
var noPtraceProfile = sync.OnceValues(func() (string, error) {
	var prof map[string]any
	if err := json.Unmarshal(dockerDefaultSeccomp, &prof); err != nil {
		return "", fmt.Errorf("seccomp profile: %w", err)
	}
	rules, _ := prof["syscalls"].([]any)
	kept := rules[:0]
	for _, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			return "", fmt.Errorf("seccomp profile: a rule is %T", r)
		}
		names, _ := rule["names"].([]any)
		names = slices.DeleteFunc(names, func(n any) bool { s, _ := n.(string); return slices.Contains(tracingSyscalls, s) })
		if len(names) == 0 {
			continue
		}
		rule["names"] = names
		kept = append(kept, rule)
	}
	prof["syscalls"] = kept
	b, err := json.Marshal(prof)
	return string(b), err
})
