package ssh

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target that actas serve runs with
// when GOGC is not set: the heap may grow to three times what is live
// between collections, not twice (Go's default, 100).
//
// A server with hundreds of consoles allocates in bursts: one change
// draws every console that shows it. A collection that starts inside such
// a burst has the consoles' goroutines help it mark, and that burst
// arrives late (the load harness saw one round in five take ~55 ms instead
// of ~17). With more room between collections they come a third as often
// and rarely need that help (p99 50–60 ms → 20–35 ms); the cost is heap
// headroom, ~60 MB more at a thousand consoles.
const GCPercent = 200

// TuneRuntime sets the collector's target to GCPercent unless the GOGC
// environment variable chose one, and returns a function that puts back
// the previous target. actas serve calls it before serving.
func TuneRuntime() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(GCPercent)
	return func() { debug.SetGCPercent(old) }
}
