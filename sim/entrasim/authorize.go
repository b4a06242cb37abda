package entrasim

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authRequest is an authorize request's parameters.
type authRequest struct {
	ClientID, RedirectURI, ResponseType, ResponseMode, Scope, State, Nonce string
	Challenge, ChallengeMethod, LoginHint                                  string
}

func readAuthRequest(v url.Values) authRequest {
	return authRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		ResponseType: v.Get("response_type"), ResponseMode: v.Get("response_mode"), Scope: v.Get("scope"),
		State: v.Get("state"), Nonce: v.Get("nonce"), Challenge: v.Get("code_challenge"),
		ChallengeMethod: v.Get("code_challenge_method"), LoginHint: v.Get("login_hint")}
}

// check validates an authorize request. A wrong client or redirect URI is shown to the person (Entra
// never redirects to an unregistered URI); any other error goes back to the redirect URI.
func (s *Sim) check(a authRequest) (shown string, redirected string, desc string) {
	switch {
	case a.ClientID != s.opts.ClientID:
		return "AADSTS700016: Application with identifier '" + a.ClientID + "' was not found in the directory.", "", ""
	case a.RedirectURI == "" || !s.redirectAllowed(a.RedirectURI):
		return "AADSTS50011: The redirect URI '" + a.RedirectURI + "' specified in the request does not match the redirect URIs configured for the application.", "", ""
	case a.ResponseType != "code":
		return "", "unsupported_response_type", "AADSTS700054: response_type '" + a.ResponseType + "' is not enabled for the application (the simulator serves the authorization code flow)."
	case a.ResponseMode != "" && a.ResponseMode != "query":
		return "", "invalid_request", "response_mode '" + a.ResponseMode + "' is not supported by the simulator (query only)."
	case !slices.Contains(strings.Fields(a.Scope), "openid"):
		return "", "invalid_request", "AADSTS900144: The request body must contain the scope openid for a sign-in."
	case a.Challenge == "":
		return "", "invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required for this sign-in (code_challenge missing)."
	case a.ChallengeMethod != "S256":
		return "", "invalid_request", "AADSTS501491: code_challenge_method must be S256."
	case len(a.Challenge) != 43:
		return "", "invalid_request", "AADSTS501491: Invalid size of Code_Challenge parameter."
	}
	return "", "", ""
}

// authorize serves GET /{tenant}/oauth2/v2.0/authorize: the pick-a-user page, or with a login_hint naming
// a user, the redirect at once.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) {
	a := readAuthRequest(r.URL.Query())
	if !s.checked(w, r, a) {
		return
	}
	if a.LoginHint != "" {
		for _, u := range s.opts.Users {
			if strings.EqualFold(u.Email, a.LoginHint) {
				http.Redirect(w, r, s.issueCode(a, u.ObjectID), http.StatusFound)
				return
			}
		}
	}
	s.pickPage(w, a)
}

// pick serves the page's form: the user picked, the request's parameters again.
func (s *Sim) pick(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a := readAuthRequest(r.PostForm)
	if !s.checked(w, r, a) {
		return
	}
	oid := r.PostForm.Get("user")
	if _, ok := s.users[oid]; !ok {
		http.Error(w, "AADSTS50034: The user account does not exist in this directory.", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, s.issueCode(a, oid), http.StatusSeeOther)
}

// checked answers a bad authorize request and reports whether it was good.
func (s *Sim) checked(w http.ResponseWriter, r *http.Request, a authRequest) bool {
	shown, code, desc := s.check(a)
	if shown == "" && code == "" {
		return true
	}
	s.mu.Lock()
	s.stats.AuthorizeErrors++
	s.mu.Unlock()
	if shown != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("Sign in (simulated Microsoft Entra ID)\n\n" + shown + "\n"))
		return false
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {a.State}}),
		http.StatusFound)
	return false
}

// issueCode records a code for the user and returns the redirect URI carrying it.
func (s *Sim) issueCode(a authRequest, oid string) string {
	code := randomToken(32)
	s.mu.Lock()
	s.codes[code] = &authCode{clientID: a.ClientID, redirectURI: a.RedirectURI, challenge: a.Challenge,
		nonce: a.Nonce, scope: a.Scope, user: oid, expires: time.Now().Add(codeTTL)}
	s.stats.CodesIssued++
	s.mu.Unlock()
	q := url.Values{"code": {code}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	return withQuery(a.RedirectURI, q)
}

// withQuery adds q to the query of uri.
func withQuery(uri string, q url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	old := u.Query()
	for k, v := range q {
		if len(v) > 0 && v[0] != "" {
			old[k] = v
		}
	}
	u.RawQuery = old.Encode()
	return u.String()
}

// pickUser is a user as the sign-in page lists them.
type pickUser struct {
	User
	GroupsText string
}

func (s *Sim) pickPage(w http.ResponseWriter, a authRequest) {
	data := struct {
		Req    authRequest
		Tenant string
		Users  []pickUser
	}{Req: a, Tenant: s.opts.TenantID}
	for _, u := range s.opts.Users {
		data.Users = append(data.Users, pickUser{User: u, GroupsText: s.describeGroups(u)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pickTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// describeGroups says in words which groups a user is in: the named ones, and how many others.
func (s *Sim) describeGroups(u User) string {
	var named []string
	for _, g := range u.Groups {
		if n, ok := s.opts.GroupNames[g]; ok {
			named = append(named, n)
		}
	}
	text := strings.Join(named, ", ")
	if rest := len(u.Groups) - len(named); rest > 0 {
		if text != "" {
			text += " and "
		}
		text += strconv.Itoa(rest) + " other groups"
	}
	if len(u.Groups) > OverageLimit {
		text += " (" + strconv.Itoa(len(u.Groups)) + " in all: the ID token carries the overage marker; the groups come from Graph)"
	}
	if len(u.AppRoles) > 0 {
		text += "; app roles " + strings.Join(u.AppRoles, ", ")
	}
	if text == "" {
		text = "no groups"
	}
	return text
}

var pickTemplate = template.Must(template.New("pick").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in with Microsoft — pick a user</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
.note{background:#fff3cd;padding:.5rem 1rem;border-radius:4px}
form{border:1px solid #ccc;border-radius:4px;padding:.75rem 1rem;margin:.75rem 0}
button{font-size:1rem;padding:.3rem 1rem}small{color:#555}</style></head>
<body>
<h1>Sign in with Microsoft — pick a user</h1>
<p class="note">This is <strong>entrasim</strong>, a simulated Microsoft Entra ID tenant ({{.Tenant}}). No password is asked:
pick who signs in.</p>
{{range .Users}}
<form method="post">
<input type="hidden" name="client_id" value="{{$.Req.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{$.Req.RedirectURI}}">
<input type="hidden" name="response_type" value="{{$.Req.ResponseType}}">
<input type="hidden" name="response_mode" value="{{$.Req.ResponseMode}}">
<input type="hidden" name="scope" value="{{$.Req.Scope}}">
<input type="hidden" name="state" value="{{$.Req.State}}">
<input type="hidden" name="nonce" value="{{$.Req.Nonce}}">
<input type="hidden" name="code_challenge" value="{{$.Req.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{$.Req.ChallengeMethod}}">
<input type="hidden" name="user" value="{{.ObjectID}}">
<p><strong>{{.Name}}</strong> &lt;{{.Email}}&gt;<br><small>{{.GroupsText}}</small></p>
<button type="submit">Sign in as {{.Name}}</button>
</form>
{{end}}
</body></html>
`))
