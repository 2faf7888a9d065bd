package daggerengine

// SourceID is the source's identity on an engine: with the module path
// (pipeline.DefaultCacheScope) it names the cache volumes. The engine sees
// no .git and no path of the caller's, and nothing in a source tells a
// fork from its upstream; so the identity is the module path alone, which
// a dependency bump keeps (an edit of go.mod or go.sum once started every
// cell cold).
//
// Volumes shared that way are safe: on Dagger only steps that run none of
// the module's code write them (deps: modules checked against each call's
// go.sum and verified; build: outputs the go command keys by their
// inputs), and the test step reads copies in its own layer
// (policies.IDTestView), so no fork's test writes what another call reads.
// --cache-scope keeps projects (or forks, on a shared engine) apart on
// purpose.
const SourceID = "dagger"
