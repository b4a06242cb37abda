package restacs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/signetassure/signetassure/access"
)

// membership is one level on a user as the ACS holds it, with the ACS's reference to the membership itself
// (Gallagher removes ".../cardholders/42/access_groups/99", not the access group).
type membership struct {
	access.Assignment
	ref string
}

// memberships reads a user's levels: from rec (the user record) or, with access.read.request, from that
// answer; with access.userWindow each level takes the window kept on the user record. rec nil means the
// record is not at hand: it is read when needed.
func (c *Connector) memberships(ctx context.Context, id string, rec any) ([]membership, error) {
	rd := c.cfg.Access.Read
	var err error
	if rec == nil && (rd.Request == "" || c.cfg.Access.UserWindow != nil) {
		if rec, err = c.getUser(ctx, id); err != nil {
			return nil, err
		}
	}
	src := rec
	if rd.Request != "" {
		if src, _, err = c.call(ctx, rd.Request, id, nil, nil); err != nil {
			return nil, err
		}
	}
	windowOf := c.windowReader(rec)
	var out []membership
	for _, item := range asArray(get(src, rd.Items)) {
		m := membership{ref: read(item, rd.Fields, "ref")}
		m.LevelID = read(item, rd.Fields, "levelId")
		if m.LevelID == "" { // a membership SetAccess could neither keep nor remove: the mapping is wrong
			return nil, fmt.Errorf("restacs: user %s: a membership has no level id at access.read.fields.levelId", id)
		}
		if m.From, m.To, err = windowOf(item); err != nil {
			return nil, fmt.Errorf("restacs: user %s: %v", id, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// windowReader answers a membership's window: the user's window when access.userWindow is set, else the
// membership's own from and until.
func (c *Connector) windowReader(rec any) func(item any) (from, to time.Time, err error) {
	w := c.cfg.Access.UserWindow
	if w == nil {
		f := c.cfg.Access.Read.Fields
		return func(item any) (time.Time, time.Time, error) {
			return c.window(read(item, f, "from"), read(item, f, "until"))
		}
	}
	uw := map[string]Field{"from": w.From, "until": w.Until}
	from, to, err := c.window(read(rec, uw, "from"), read(rec, uw, "until"))
	return func(any) (time.Time, time.Time, error) { return from, to, err }
}

// window parses a from and an until.
func (c *Connector) window(from, until string) (f, t time.Time, err error) {
	if f, err = c.parseTime(from, false); err != nil {
		return f, t, fmt.Errorf("from: %v", err)
	}
	if t, err = c.parseTime(until, true); err != nil {
		return f, t, fmt.Errorf("until: %v", err)
	}
	return f, t, nil
}

// SetAccess makes the user's levels exactly a's. Profiles are not part of either write style, so a request
// for some is refused rather than dropped.
func (c *Connector) SetAccess(ctx context.Context, current access.User, a access.Access) error {
	if current.ID == "" {
		return fmt.Errorf("restacs: SetAccess: empty id")
	}
	if len(a.Profiles) > 0 {
		return &access.Error{Kind: access.KindValidation, Op: "SetAccess", Detail: c.cfg.System + ": this configuration writes levels, not profiles"}
	}
	want := map[string]access.Assignment{}
	for _, l := range a.Levels {
		if _, dup := want[l.LevelID]; dup || l.LevelID == "" {
			return &access.Error{Kind: access.KindValidation, Op: "SetAccess", Detail: fmt.Sprintf("level %q is empty or given twice", l.LevelID)}
		}
		want[l.LevelID] = l
	}
	if err := c.verify(ctx, "SetAccess", current); err != nil {
		return err
	}
	if c.cfg.Access.Style == "put-set" {
		return c.putSet(ctx, current, a.Levels)
	}
	return c.patchDiff(ctx, current.ID, a.Levels, want)
}

// settleRounds bounds the patch-diff writes of one SetAccess.
const settleRounds = 2

// patchDiff reads the memberships afresh (removals name them by their own reference, and an operator may
// have changed them since current was read), sends one request with what to add, update and remove, and
// reads back. A PATCH whose answer was lost may or may not have been applied (the shared client does not
// repeat it): the read-back tells, and a second round sends what is still missing.
func (c *Connector) patchDiff(ctx context.Context, id string, levels []access.Assignment, want map[string]access.Assignment) error {
	p := c.cfg.Access.Patch
	have, err := c.memberships(ctx, id, nil)
	if err != nil {
		return err
	}
	for round := 1; !exactly(have, want); round++ {
		body, err := c.diff(have, levels, want)
		if err != nil {
			return err
		}
		_, _, werr := c.call(ctx, p.Request, id, nil, body)
		if k := access.KindOf(werr); werr != nil && k != access.KindTransient && k != access.KindValidation {
			return werr // refused outright (held, forbidden, gone): nothing changed
		}
		have, err = c.memberships(ctx, id, nil)
		switch {
		case err == nil && exactly(have, want):
			return nil
		case werr != nil:
			return werr
		case err != nil:
			return err
		case round == settleRounds:
			return &access.Error{Kind: access.KindTransient, Op: p.Request, Detail: "access did not settle; an operator may be editing it"}
		}
	}
	return nil
}

// diff is the patch-diff body turning have into levels. It keeps one exactly right membership per level;
// a level with another window is an update (or a removal and an addition); the rest is removed.
func (c *Connector) diff(have []membership, levels []access.Assignment, want map[string]access.Assignment) (map[string]any, error) {
	p := c.cfg.Access.Patch
	kept := map[string]bool{}
	var rest []membership
	for _, m := range have { // first keep the memberships that are exactly right
		if w, ok := want[m.LevelID]; ok && !kept[m.LevelID] && sameTime(w.From, m.From) && sameTime(w.To, m.To) {
			kept[m.LevelID] = true
		} else {
			rest = append(rest, m)
		}
	}
	var adds, updates, removes []any
	for _, m := range rest {
		w, ok := want[m.LevelID]
		if ok && !kept[m.LevelID] && p.Update != nil {
			item, err := c.item("access.patch.update", p.Update.Item, m.ref, w)
			if err != nil {
				return nil, err
			}
			updates = append(updates, item)
			kept[m.LevelID] = true
			continue
		}
		item, err := c.item("access.patch.remove", p.Remove.Item, m.ref, m.Assignment)
		if err != nil {
			return nil, err
		}
		removes = append(removes, item)
	}
	for _, l := range levels {
		if !kept[l.LevelID] {
			item, err := c.item("access.patch.add", p.Add.Item, "", l)
			if err != nil {
				return nil, err
			}
			adds = append(adds, item)
		}
	}
	body := map[string]any{}
	for _, e := range []struct {
		edit  *ListEdit
		items []any
	}{{&p.Add, adds}, {&p.Remove, removes}, {p.Update, updates}} {
		if len(e.items) > 0 { // updates is empty without p.Update
			set(body, e.edit.At, e.items)
		}
	}
	return body, nil
}

// exactly says whether have holds each wanted level once, with its window, and nothing else.
func exactly(have []membership, want map[string]access.Assignment) bool {
	seen := map[string]bool{}
	for _, m := range have {
		w, ok := want[m.LevelID]
		if !ok || seen[m.LevelID] || !sameTime(w.From, m.From) || !sameTime(w.To, m.To) {
			return false
		}
		seen[m.LevelID] = true
	}
	return len(seen) == len(want)
}

// item renders one element of a patch-diff list.
func (c *Connector) item(key string, tmpl any, ref string, l access.Assignment) (any, error) {
	levelID, err := c.levelID(l.LevelID)
	if err != nil {
		return nil, err
	}
	v, err := render(tmpl, varMap(map[string]any{"baseURL": c.baseURL, "levelId": levelID, "ref": ref,
		"from": c.formatTime(l.From), "until": c.formatTime(l.To)}))
	if err != nil {
		return nil, fmt.Errorf("restacs: %s.item: %v", key, err)
	}
	return v, nil
}

// levelID is a level id as access.levelIdType sends it.
func (c *Connector) levelID(id string) (any, error) {
	if c.cfg.Access.LevelIDType != "number" {
		return id, nil
	}
	var n json.Number
	if err := json.Unmarshal([]byte(id), &n); err != nil {
		return nil, &access.Error{Kind: access.KindValidation, Op: "SetAccess", Detail: fmt.Sprintf("level id %q is not a number", id)}
	}
	return n, nil
}

// putSet writes the user's window first (with access.userWindow, when it changes), then the whole set of
// level ids. The window is the span of the levels' windows: an ACS with one window per user cannot hold
// more, so SignetAssure keeps enforcing each level's own end date.
func (c *Connector) putSet(ctx context.Context, current access.User, levels []access.Assignment) error {
	if w := c.cfg.Access.UserWindow; w != nil && len(levels) > 0 {
		from, to := span(levels)
		if cf, ct := span(current.Levels); len(current.Levels) == 0 || !sameTime(cf, from) || !sameTime(ct, to) {
			body := map[string]any{}
			if err := c.writeField(body, "access.userWindow.from", w.From, c.formatTime(from)); err != nil {
				return err
			}
			if err := c.writeField(body, "access.userWindow.until", w.Until, c.formatTime(to)); err != nil {
				return err
			}
			if _, _, err := c.call(ctx, c.cfg.Users.Update.Request, current.ID, nil, body); err != nil {
				return err
			}
		}
	}
	ids := make([]any, 0, len(levels))
	for _, l := range levels {
		id, err := c.levelID(l.LevelID)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	p := c.cfg.Access.Put
	body, err := render(p.Body, varMap(map[string]any{"baseURL": c.baseURL, "levelIds": ids}))
	if err != nil {
		return fmt.Errorf("restacs: access.put.body: %v", err)
	}
	_, _, err = c.call(ctx, p.Request, current.ID, nil, body)
	return err
}

// span is the earliest start and the latest end of levels; zero (unbounded) wins on either side.
func span(levels []access.Assignment) (from, to time.Time) {
	for i, l := range levels {
		if i == 0 {
			from, to = l.From, l.To
			continue
		}
		if l.From.IsZero() || (!from.IsZero() && l.From.Before(from)) {
			from = l.From
		}
		if l.To.IsZero() || (!to.IsZero() && l.To.After(to)) {
			to = l.To
		}
	}
	return from, to
}
