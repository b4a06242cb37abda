package api

import (
	"regexp"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// NotificationView is a notification as a person reads it: what it is about in words, the person its
// case is about by name, and its message without the record ids machines use.
type NotificationView struct {
	domain.Notification
	Title      string     `json:"title" description:"the kind of notification in words"`
	Text       string     `json:"text" description:"the message without record ids"`
	PersonID   *uuid.UUID `json:"personId" description:"the person the notification's case is about"`
	PersonName string     `json:"personName" description:"their name; empty when it names no case"`
}

// MarkReadInput marks notifications read: those named, or all of the caller's.
type MarkReadInput struct {
	IDs []string `json:"ids,omitempty" maxItems:"200" description:"the notifications to mark read (the caller's own)"`
	All *bool    `json:"all,omitempty" description:"mark every one of the caller's notifications read"`
}

// MarkedRead says how many notifications a request marked read (those read already are not counted).
type MarkedRead struct {
	Marked int `json:"marked"`
}

var recordID = regexp.MustCompile(`\s*\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)

func (s *Server) myNotifications(c *gin.Context) error {
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	ns, err := s.Store.Notifications(c, actorID(c), p)
	if err != nil {
		return err
	}
	var refs []string
	for _, n := range ns {
		if n.CaseRef != nil {
			refs = append(refs, *n.CaseRef)
		}
	}
	cases, err := s.Store.CasePersons(c, refs)
	if err != nil {
		return err
	}
	var ids []uuid.UUID
	for _, id := range cases {
		ids = append(ids, id)
	}
	names := map[uuid.UUID]string{}
	if len(ids) > 0 {
		persons, err := s.Store.PersonsByID(c, ids)
		if err != nil {
			return err
		}
		for _, p := range persons {
			names[p.ID] = p.FirstName + " " + p.LastName
		}
	}
	out := make([]NotificationView, len(ns))
	for i, n := range ns {
		v := NotificationView{Notification: n, Title: n.Kind.Title(), Text: recordID.ReplaceAllString(n.Message, "")}
		if n.CaseRef != nil {
			if id, ok := cases[*n.CaseRef]; ok {
				v.PersonID, v.PersonName = &id, names[id]
			}
		}
		out[i] = v
	}
	return respond(c, out, nil)
}

func (s *Server) markNotificationsRead(c *gin.Context) error {
	var in MarkReadInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	all := in.All != nil && *in.All
	if !all && len(in.IDs) == 0 {
		errs.add("ids", "is required unless all is true")
	}
	if len(in.IDs) > 200 {
		errs.add("ids", "must name at most 200 notifications")
	}
	if err := errs.err(); err != nil {
		return err
	}
	n, err := s.Store.MarkNotificationsRead(c, actorID(c), in.IDs, all)
	return respond(c, MarkedRead{Marked: n}, err)
}
