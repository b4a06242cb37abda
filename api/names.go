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
	var ids []uuid.UUID
	for _, m := range ms {
		if m.PersonID != nil {
			ids = append(ids, *m.PersonID)
		}
	}
	names, err := s.personNames(c, ids)
	if err != nil {
		return nil, err
	}
	out := make([]MessageSummary, len(ms))
	for i, m := range ms {
		out[i] = MessageSummary{Message: m}
		if m.PersonID != nil {
			out[i].PersonName = names[*m.PersonID]
		}
	}
	return out, nil
}
