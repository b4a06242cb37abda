// Package kit is what the simulators under sim/ share: the timed job queue behind their webhooks and
// state changes, the small HTTP helpers of their control endpoints and pages, fault-injection sleeps, and
// the state file that lets a simulator started by `signetassure dev` keep its state across restarts.
package kit
