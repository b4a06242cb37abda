//go:build race

package twiliosim_test

// raceEnabled shrinks the load tests under the race detector, which slows them tenfold.
const raceEnabled = true
