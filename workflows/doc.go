// Package workflows holds SignetAssure's Temporal workflows. Per workflow, its *_api.go file holds its id,
// the names of its updates and queries, its input and output types and the client calls that start and
// drive it; the workflow itself stands beside it, and exports nothing else (TestWorkflowContractsLiveInTheirAPIFiles).
//
// # Payloads are a wire contract
//
// Every value that crosses a workflow's boundary is a payload in its history, encoded as JSON by Temporal's
// default data converter: a workflow's input (and continue-as-new input) and result, an activity's input
// and result, an update's or signal's argument and an update's result (a query's is not recorded, but
// callers decode it alike). The types here and in activities, and the domain types they carry, are
// therefore read back by code newer than the code that wrote them: by a workflow replaying its history,
// by one resumed after a deploy, by a caller of a query. So:
//
//   - A field of a payload type is never renamed, removed or given another JSON form (a type, a tag, a
//     format) as if it were private. Such a change comes with a workflow.GetVersion for the code that
//     reads it, or with a decode that still accepts the old shape; a field no longer read may be retired
//     once every workflow that could hold it has ended, and is listed with why in retiredFields
//     (payloads_test.go) while recorded histories still hold it.
//   - Every field a payload type has is marshalled: no json:"-" on a type that rides in history, which
//     would lose the field silently at the boundary (as CaseEvent.CaseRef once did). A field the API must
//     not show is left out of the API's own response type (api.TimelineEvent beside domain.CaseEvent),
//     not hidden on the history type. omitempty is fine only where the zero value and "absent" mean the
//     same thing once decoded.
//   - Adding a field is compatible: old payloads decode with it zero, so the code must read zero as "as
//     before".
//
// TestPayloadGoldens holds every such type to a golden file, testdata/payloads/<type>.json: it finds the
// types from worker.Register (every workflow, every method of *activities.Activities) and handlerPayloads
// (the Update..., Query... and Signal... constants, which it requires to be listed), wants a fully
// populated sample of each in payloadSamples, and fails when a field is renamed, dropped or not
// marshalled. A new payload type, or a field added: give the sample a value for it and run
//
//	go test -run TestPayloadGoldens ./workflows/ -update-payloads
//
// which writes missing goldens and rewrites those that only gained fields. It never rewrites a golden
// whose fields changed or went away: delete that one by hand, once the change is made compatible as above.
// TestRecordedPayloadsDecode decodes every payload of the recorded histories (testdata) into today's types
// the same strict way.
package workflows
