package workflows

import "time"

// LongestHeartbeat is the longest heartbeat timeout of any activity at the default settings (the
// following of the access control system's events waits max(3×ACS_EVENT_POLL_INTERVAL, this)). A
// deployment gives a stopping worker longer than this before killing it (deploy/kubernetes: the worker's
// terminationGracePeriodSeconds; a test holds it to this value).
const LongestHeartbeat = time.Minute
