// Package render presents a report.Report: Terminal for people at a
// terminal, Markdown for $GITHUB_STEP_SUMMARY, JUnit XML for CI test
// reporters, and GitHub workflow-command annotations that put failures on
// the lines that reported them. Renderers only read the report: every
// judgement (outcomes, divergences, causes, verdict) is report's.
package render
