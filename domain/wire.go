// Several of these types ride in workflow history as well as in the API's answers (Case, CaseEvent,
// Clearance, AccessGrant, Broadcast, ReminderPolicy, ...): their JSON is a wire contract with every
// recorded history, as the workflows package describes. A field the API must not show is left out of an
// API type of its own, never hidden with json:"-" on a type that rides in history.
package domain
