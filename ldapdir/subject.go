package ldapdir

import (
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
)

// subjectOf is the person's stable id from attr: objectGUID's 16 bytes as a GUID string, anything
// else (entryUUID) as the directory wrote it, lower-cased.
func subjectOf(e *ldap.Entry, attr string) (string, error) {
	if strings.EqualFold(attr, "objectGUID") {
		raw := e.GetEqualFoldRawAttributeValue(attr)
		if len(raw) != 16 {
			return "", fmt.Errorf("the person's entry has no 16-byte objectGUID (it has %d bytes): check SubjectAttribute", len(raw))
		}
		return GUIDString(raw), nil
	}
	v := e.GetEqualFoldAttributeValue(attr)
	if v == "" {
		return "", fmt.Errorf("the person's entry has no %s: check SubjectAttribute", attr)
	}
	return strings.ToLower(v), nil
}

// GUIDString renders Active Directory's binary objectGUID as the GUID string Windows shows (lower-case,
// no braces). Its first three fields are stored little-endian, so the bytes are not in string order.
func GUIDString(b []byte) string {
	var u uuid.UUID
	copy(u[:], []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]})
	copy(u[8:], b[8:16])
	return u.String()
}

// GUIDBytes is GUIDString's inverse: the objectGUID bytes Active Directory stores for a GUID string.
func GUIDBytes(s string) ([]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return nil, err
	}
	return append([]byte{u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6]}, u[8:]...), nil
}
