package api

import (
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// personNames are the names ("first last") of the persons ids name, by id, for lists that show persons
// by name; a person outside a scoped case worker's reach has none.
func (s *Server) personNames(c *gin.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	return s.Store.PersonNames(c, credential(c).Reach, ids)
}

// namedBy gives each item the name of its person (person says who; nil: nobody): wrap makes the item's
// summary with the name, "" for nobody or for a person outside a scoped case worker's reach. One read of
// the names for the whole list.
func namedBy[T, S any](s *Server, c *gin.Context, items []T, person func(T) *uuid.UUID, wrap func(T, string) S) ([]S, error) {
	var ids []uuid.UUID
	for _, it := range items {
		if id := person(it); id != nil {
			ids = append(ids, *id)
		}
	}
	names, err := s.personNames(c, ids)
	if err != nil {
		return nil, err
	}
	out := make([]S, len(items))
	for i, it := range items {
		var name string
		if id := person(it); id != nil {
			name = names[*id]
		}
		out[i] = wrap(it, name)
	}
	return out, nil
}

// ClearanceSummary is a clearance in the register, with its holder's name.
type ClearanceSummary struct {
	domain.Clearance
	PersonName string `json:"personName"`
}

// MessageSummary is a message with the name of the person it went to ("" for none, or one outside a
// scoped case worker's reach).
type MessageSummary struct {
	domain.Message
	PersonName string `json:"personName,omitempty"`
}

// InboundSummary is a message a person sent us, with their name when the sender is known.
type InboundSummary struct {
	domain.InboundMessage
	PersonName string `json:"personName,omitempty"`
}

// messageSummaries are messages with their persons' names.
func (s *Server) messageSummaries(c *gin.Context, ms []domain.Message) ([]MessageSummary, error) {
	return namedBy(s, c, ms, func(m domain.Message) *uuid.UUID { return m.PersonID },
		func(m domain.Message, name string) MessageSummary {
			return MessageSummary{Message: m, PersonName: name}
		})
}

// AccessFindingSummary is a finding a sync made, with its kind in words and the name of its person.
type AccessFindingSummary struct {
	domain.AccessFinding
	Title      string `json:"title" description:"the finding's kind in words"`
	PersonName string `json:"personName,omitempty" description:"the name of the person it concerns: absent for none, or one outside a scoped case worker's reach"`
}

// AccessOperationSummary is a change to the access control system, with the name of its person.
type AccessOperationSummary struct {
	domain.AccessOperation
	PersonName string `json:"personName,omitempty" description:"the name of the person it concerns: absent for none, or one outside a scoped case worker's reach"`
}

// AccessSyncSummary is a sync with the names of the persons it could not reconcile.
type AccessSyncSummary struct {
	domain.AccessSync
	PersonNames map[string]string `json:"personNames" description:"the names of the persons result.failed names, by their ids"`
}

func (s *Server) findingSummaries(c *gin.Context, fs []domain.AccessFinding) ([]AccessFindingSummary, error) {
	return namedBy(s, c, fs, func(f domain.AccessFinding) *uuid.UUID { return f.PersonID },
		func(f domain.AccessFinding, name string) AccessFindingSummary {
			return AccessFindingSummary{AccessFinding: f, Title: domain.AccessFindingNotification(f.Kind).Title(), PersonName: name}
		})
}

func (s *Server) operationSummaries(c *gin.Context, os []domain.AccessOperation) ([]AccessOperationSummary, error) {
	return namedBy(s, c, os, func(o domain.AccessOperation) *uuid.UUID { return o.PersonID },
		func(o domain.AccessOperation, name string) AccessOperationSummary {
			return AccessOperationSummary{AccessOperation: o, PersonName: name}
		})
}

// syncSummaries are syncs with the names of the persons each could not reconcile (its result's failed).
func (s *Server) syncSummaries(c *gin.Context, ss []domain.AccessSync) ([]AccessSyncSummary, error) {
	var ids []uuid.UUID
	for _, sy := range ss {
		ids = append(ids, failedPersons(sy)...)
	}
	names, err := s.personNames(c, ids)
	if err != nil {
		return nil, err
	}
	out := make([]AccessSyncSummary, len(ss))
	for i, sy := range ss {
		out[i] = AccessSyncSummary{AccessSync: sy, PersonNames: map[string]string{}}
		for _, id := range failedPersons(sy) {
			if n, ok := names[id]; ok {
				out[i].PersonNames[id.String()] = n
			}
		}
	}
	return out, nil
}

// failedPersons are the ids of the persons a sync's result names as not reconciled.
func failedPersons(sy domain.AccessSync) []uuid.UUID {
	failed, _ := sy.Result["failed"].([]any)
	var ids []uuid.UUID
	for _, f := range failed {
		m, _ := f.(map[string]any)
		s, _ := m["personId"].(string)
		if id, err := uuid.Parse(s); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
