package testjson

import (
	"encoding/json"
	"time"
)

// Event is one test2json record. Fields a toolchain does not emit stay zero.
type Event struct {
	Time    time.Time
	Action  string
	Package string  `json:",omitempty"`
	Test    string  `json:",omitempty"`
	Elapsed float64 `json:",omitempty"` // seconds
	Output  string  `json:",omitempty"`

	// Go 1.24+: build-output and build-fail events name the package being
	// built in ImportPath ("p [p.test]"); a package's fail event names the
	// build that failed in FailedBuild.
	ImportPath  string `json:",omitempty"`
	FailedBuild string `json:",omitempty"`

	// Go 1.25+: attr events (t.Attr).
	Key   string `json:",omitempty"`
	Value string `json:",omitempty"`

	// Go 1.26+: artifacts events (t.ArtifactDir).
	Path string `json:",omitempty"`
}

// Actions test2json emits.
const (
	ActionStart       = "start"
	ActionRun         = "run"
	ActionPause       = "pause"
	ActionCont        = "cont"
	ActionPass        = "pass"
	ActionBench       = "bench"
	ActionFail        = "fail"
	ActionOutput      = "output"
	ActionSkip        = "skip"
	ActionBuildOutput = "build-output"
	ActionBuildFail   = "build-fail"
	ActionAttr        = "attr"
	ActionArtifacts   = "artifacts"
)

// decodeEvent parses one line; ok is false when the line is not an event
// (not JSON, or JSON without an Action).
func decodeEvent(line []byte) (Event, bool) {
	if len(line) == 0 || line[0] != '{' {
		return Event{}, false
	}
	var e Event
	if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
		return Event{}, false
	}
	return e, true
}
