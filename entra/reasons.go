package entra

// Reasons of the *domain.SignInRefused that Exchange returns, for the audit log.
const (
	// ReasonCodeRejected: the token endpoint refused the code (unknown, expired, already redeemed, another
	// redirect URI) or its PKCE verifier.
	ReasonCodeRejected = "code_rejected"
	ReasonNoIDToken    = "id_token_missing"   // the token answer had no ID token
	ReasonMalformed    = "id_token_malformed" // not a JWS in compact form
	ReasonUnsigned     = "id_token_unsigned"  // alg none
	ReasonAlgorithm    = "id_token_algorithm" // signed with another algorithm than RS256
	ReasonSignature    = "id_token_signature" // no key of the tenant's JWKS verifies it
	ReasonIssuer       = "id_token_issuer"    // iss is not {Authority}/{TenantID}/v2.0
	ReasonAudience     = "id_token_audience"  // aud is not the client id
	ReasonExpired      = "id_token_expired"
	ReasonNotYetValid  = "id_token_not_yet_valid" // nbf more than five minutes ahead
	ReasonInvalid      = "id_token_invalid"       // refused by the verifier for another reason
	ReasonNonce        = "id_token_nonce"         // not the nonce of this sign-in
	ReasonTenant       = "tenant"                 // tid is not the configured tenant
	ReasonNoObjectID   = "id_token_oid"           // no oid claim (the profile scope was not granted)
)
