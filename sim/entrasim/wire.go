package entrasim

// The simulator's own wire types: what Entra's v2.0 endpoints and Microsoft Graph answer, as Microsoft
// documents them (the fixtures in entra/testdata/vendor pin their shapes). No SignetAssure client type is
// used, so that a client that names a field wrongly fails its tests.

// discovery is the OpenID Provider configuration document of a tenant
// (GET /{tenant}/v2.0/.well-known/openid-configuration).
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

// tokenResponse is the token endpoint's answer to a redeemed code.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
}

// oauthError is the token endpoint's error answer.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// graphPage is one page of a Microsoft Graph collection.
type graphPage struct {
	Context  string       `json:"@odata.context"`
	NextLink string       `json:"@odata.nextLink,omitempty"`
	Value    []graphGroup `json:"value"`
}

// graphGroup is a group as GET .../transitiveMemberOf/microsoft.graph.group answers it, with the
// properties $select asked for (id when it asked for none).
type graphGroup struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// graphError is Microsoft Graph's error answer.
type graphError struct {
	Error graphErrorBody `json:"error"`
}

type graphErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// claimSource is an entry of the _claim_sources claim (distributed claims, OpenID Connect Core 5.6.2).
type claimSource struct {
	Endpoint string `json:"endpoint"`
}
