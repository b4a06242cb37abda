// Package load holds the mixed load harness (its tests): the real `signetassure` binary run as API and
// worker processes against a fresh database, the test binary's Temporal dev server and the CredoID and
// Twilio simulators, driven over loopback with vegeta (github.com/tsenart/vegeta/v12) by simulated case
// workers, partner lookups at their rate limit, an access sync and a group broadcast at once.
//
// `make load` runs TestMixedLoad: one API and one worker, then two of each, for LOAD_DURATION each,
// reporting p50/p99 per route, errors, throughput and the slowest route's CPU profile. `make test` runs
// TestScaleOutCarriesTheLoadOnce, a short run of two APIs and two workers checked for errors and for
// anything done twice.
package load
