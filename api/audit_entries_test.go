package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
)

type auditEntriesPage struct {
	Items []struct {
		ID         int64          `json:"id"`
		At         time.Time      `json:"at"`
		ActorID    *string        `json:"actorId"`
		ActorName  string         `json:"actorName"`
		Action     string         `json:"action"`
		EntityType string         `json:"entityType"`
		EntityID   string         `json:"entityId"`
		Detail     map[string]any `json:"detail"`
		LeafIndex  *int64         `json:"leafIndex"`
	} `json:"items"`
	Total int `json:"total"`
	Limit int `json:"limit"`
}

func (e *env) auditEntries(role domain.Role, query string) auditEntriesPage {
	e.t.Helper()
	r := e.call(role, "GET", "/api/v1/audit/entries"+query, nil)
	var p auditEntriesPage
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil {
		e.t.Fatalf("audit entries%s: %d %s", query, r.status, r.body)
	}
	return p
}

type auditStatus struct {
	TreeSize           int64      `json:"treeSize"`
	CheckpointSize     *int64     `json:"checkpointSize"`
	CheckpointSignedAt *time.Time `json:"checkpointSignedAt"`
	Pending            int64      `json:"pending"`
	LastVerification   *struct {
		At       time.Time `json:"at"`
		By       *string   `json:"by"`
		Intact   bool      `json:"intact"`
		TreeSize int64     `json:"treeSize"`
		Problem  *struct {
			Kind    string `json:"kind"`
			AuditID int64  `json:"auditId"`
			Message string `json:"message"`
		} `json:"problem"`
	} `json:"lastVerification"`
}

func (e *env) auditStatus() auditStatus {
	e.t.Helper()
	r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/status", nil)
	var s auditStatus
	if r.status != 200 || json.Unmarshal(r.body, &s) != nil {
		e.t.Fatalf("audit status: %d %s", r.status, r.body)
	}
	return s
}

// An auditor browses the audit log: filtered by action prefix, entity, actor and days, newest first, in
// pages, each entry naming who acted and its leaf once sequenced; the status tells the tree's size, the
// newest checkpoint and what waits for the sequencer. Other roles are refused; bad filters are named.
func TestAuditEntriesBrowseAndStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys, _ := treeKeys(t)
	before := e.auditStatus()
	if before.CheckpointSize != nil || before.CheckpointSignedAt != nil {
		t.Fatalf("status before any checkpoint: %+v", before)
	}
	ada := e.createPerson("Ada", "Lovelace", "1975-12-10")
	grace := e.createPerson("Grace", "Hopper", "1976-12-09")

	got := e.auditEntries(domain.RoleAuditor, "?action=person.create")
	if got.Total != 2 || len(got.Items) != 2 || got.Items[0].EntityID != grace || got.Items[1].EntityID != ada {
		t.Fatalf("person.create entries, newest first: %+v", got)
	}
	caseWorker := e.users[domain.RoleCaseWorker]
	for _, it := range got.Items {
		if it.ActorID == nil || *it.ActorID != caseWorker.ID.String() || it.ActorName != caseWorker.DisplayName ||
			it.EntityType != "person" || it.LeafIndex != nil || it.Detail == nil {
			t.Fatalf("an unsequenced entry: %+v", it)
		}
	}
	if p := e.auditEntries(domain.RoleAuditor, "?action=person.&entityType=person&entityId="+ada); p.Total < 1 {
		t.Fatalf("by prefix and entity: %+v", p)
	} else {
		for _, it := range p.Items {
			if it.EntityID != ada {
				t.Fatalf("an entry of another entity: %+v", it)
			}
		}
	}
	if p := e.auditEntries(domain.RoleAuditor, "?actor="+caseWorker.ID.String()+"&limit=1"); p.Total < 2 || len(p.Items) != 1 || p.Limit != 1 {
		t.Fatalf("by actor, one a page: %+v", p)
	}
	if p := e.auditEntries(domain.RoleAuditor, "?action=person.create&limit=1&offset=1"); len(p.Items) != 1 || p.Items[0].EntityID != ada {
		t.Fatalf("the second page: %+v", p)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if p := e.auditEntries(domain.RoleAuditor, "?action=person.create&from="+today+"&to="+today); p.Total != 2 {
		t.Fatalf("today's: %+v", p)
	}
	if p := e.auditEntries(domain.RoleAuditor, "?action=person.create&to=2000-01-01"); p.Total != 0 {
		t.Fatalf("before 2000: %+v", p)
	}
	if p := e.auditEntries(domain.RoleAuditor, "?action=nothing.like.this"); p.Total != 0 || p.Items == nil {
		t.Fatalf("no match: %+v", p)
	}

	waiting := e.auditStatus()
	if waiting.Pending < 2 || waiting.TreeSize != 0 {
		t.Fatalf("status with entries waiting: %+v", waiting)
	}
	if _, err := e.st.SequenceAudit(context.Background(), keys, treeOrigin); err != nil {
		t.Fatal(err)
	}
	done := e.auditStatus()
	if done.Pending != 0 || done.TreeSize < 2 || done.CheckpointSize == nil || *done.CheckpointSize != done.TreeSize ||
		done.CheckpointSignedAt == nil {
		t.Fatalf("status once sequenced: %+v", done)
	}
	if p := e.auditEntries(domain.RoleAuditor, "?action=person.create"); p.Items[0].LeafIndex == nil || p.Items[1].LeafIndex == nil {
		t.Fatalf("sequenced entries without their leaf: %+v", p)
	}
	e.auditEntries(domain.RoleSecurityController, "")

	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer} {
		for _, path := range []string{"/api/v1/audit/entries", "/api/v1/audit/status"} {
			if r := e.call(role, "GET", path, nil); r.status != 403 {
				t.Errorf("%s reading %s: %d", role, path, r.status)
			}
		}
	}
	for query, field := range map[string]string{
		"?actor=someone":                 "actor",
		"?from=yesterday":                "from",
		"?to=2026-13-01":                 "to",
		"?from=2026-02-02&to=2026-02-01": "to",
		"?limit=0":                       "limit",
		"?offset=-1":                     "offset",
		"?action=a%00b":                  "action",
	} {
		r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/entries"+query, nil)
		if r.status != 400 {
			t.Errorf("%s: %d %s", query, r.status, r.body)
			continue
		}
		if got := problemField(t, r); got != field {
			t.Errorf("%s names %q, want %q", query, got, field)
		}
	}
}
