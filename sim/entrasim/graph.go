package entrasim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// graphMaxTop is the largest page Graph serves for transitiveMemberOf.
const graphMaxTop = 999

// graphGroups serves GET /v1.0/me/transitiveMemberOf/microsoft.graph.group: the groups of the user whose
// access token comes with the call, a page at a time.
func (s *Sim) graphGroups(w http.ResponseWriter, r *http.Request) {
	if s.down(func(f Faults) bool { return f.GraphDown }) {
		kit.WriteJSON(w, http.StatusServiceUnavailable, graphError{Error: graphErrorBody{Code: "serviceNotAvailable",
			Message: "The service is temporarily unavailable (simulated)."}})
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	grant, known := s.access[token]
	if !ok || !known || time.Now().After(grant.Expires) {
		s.stats.GraphRejections++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
		kit.WriteJSON(w, http.StatusUnauthorized, graphError{Error: graphErrorBody{Code: "InvalidAuthenticationToken",
			Message: "Access token validation failure. Invalid audience."}})
		return
	}
	s.stats.GraphCalls++
	s.mu.Unlock()
	u := s.users[grant.User]

	q := r.URL.Query()
	top := s.opts.GraphPageSize
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			graphBadRequest(w, "Invalid page size specified: '"+t+"'.")
			return
		}
		top = n
	}
	selectID, selectName := true, false
	if sel := q.Get("$select"); sel != "" {
		selectID = false
		for _, p := range strings.Split(sel, ",") {
			switch strings.TrimSpace(p) {
			case "id":
				selectID = true
			case "displayName":
				selectName = true
			default:
				graphBadRequest(w, "Could not find a property named '"+p+"' on type 'microsoft.graph.group'.")
				return
			}
		}
	}
	top = min(top, s.opts.GraphMaxPageSize)
	from := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := decodeSkip(tok)
		if err != nil || n < 0 || n > len(u.Groups) {
			graphBadRequest(w, "Invalid $skiptoken.")
			return
		}
		from = n
	}
	to := min(from+top, len(u.Groups))
	page := graphPage{Context: "https://graph.microsoft.com/v1.0/$metadata#groups", Value: []graphGroup{}}
	if sel := q.Get("$select"); sel != "" {
		page.Context = "https://graph.microsoft.com/v1.0/$metadata#groups(" + sel + ")"
	}
	for _, g := range u.Groups[from:to] {
		var v graphGroup
		if selectID {
			v.ID = g
		}
		if selectName {
			v.DisplayName = s.opts.GroupNames[g]
			if v.DisplayName == "" {
				v.DisplayName = "Group " + g[:8]
			}
		}
		page.Value = append(page.Value, v)
	}
	if to < len(u.Groups) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", encodeSkip(to))
		page.NextLink = s.baseURL(r) + r.URL.Path + "?" + next.Encode()
	}
	kit.WriteJSON(w, http.StatusOK, page)
}

func graphBadRequest(w http.ResponseWriter, msg string) {
	kit.WriteJSON(w, http.StatusBadRequest, graphError{Error: graphErrorBody{Code: "Request_BadRequest", Message: msg}})
}

// The $skiptoken is opaque to clients, as Graph's is: here the offset of the next page, encoded.
func encodeSkip(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("entrasim:" + strconv.Itoa(n)))
}

func decodeSkip(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimPrefix(string(b), "entrasim:"))
}
