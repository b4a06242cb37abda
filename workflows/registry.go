package workflows

// All is every workflow SignetAssure runs, in one list: the worker registers these (worker.Register),
// and the replay test replays its recorded histories (testdata/histories/<type>) against them and
// wants at least one history of each, so a workflow added here cannot go without one.
func All() []any {
	return []any{
		VettingCase,
		PartnerHealth,
		AuditCheckpoint,
		AccessGrant,
		AccessReview,
		AccessSync,
		AccessEvents,
		ClearanceLifecycle,
		Broadcast,
		SendOne,
		IdentityCheck,
		MessageCosts,
		EvidencePack,
		AuditVerification,
		Webhook,
		TravelTrip,
	}
}
