package supervision

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenOnlyForChannelMembers(t *testing.T) {
	demander, platform, supervisor, outsider := GenerateKey(), GenerateKey(), GenerateKey(), GenerateKey()
	private := []byte(`{"fields":{"price":"12500","fee":"300"},"salt":"0x01"}`)
	s, raw, err := Seal("dps", []byte(`{"trade":"T-1", "kind":"spot"}`), private, "0xabc", []Recipient{
		{"supervisor", supervisor.Public}, {"demander", demander.Public}, {"platform", platform.Public},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("12500")) {
		t.Fatal("private info in clear in the sealed record")
	}
	parsed, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]KeyPair{"demander": demander, "platform": platform, "supervisor": supervisor} {
		got, err := parsed.Open(name, k)
		if err != nil || !bytes.Equal(got, private) {
			t.Fatalf("%s cannot open: %v", name, err)
		}
	}
	if _, err := parsed.Open("outsider", outsider); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("a non-member opened the record: %v", err)
	}
	// A non-member using a member's name, with its own key, fails too.
	if _, err := parsed.Open("platform", outsider); err == nil {
		t.Fatal("a wrong key opened the record")
	}
	// Moving the ciphertext under another header breaks it.
	parsed.Commitment = "0xdef"
	if _, err := parsed.Open("supervisor", supervisor); err == nil {
		t.Fatal("the private part opened under another commitment")
	}
	if Hash(raw) == [32]byte{} || s.Channel != "dps" {
		t.Fatal("hash or channel lost")
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	k := GenerateKey()
	path := filepath.Join(t.TempDir(), "sealing.key")
	if err := SaveKey(path, k); err != nil {
		t.Fatal(err)
	}
	back, err := LoadKey(path)
	if err != nil || !back.Public.Equal(k.Public) {
		t.Fatalf("key round trip: %v", err)
	}
}

func FuzzParseAndOpen(f *testing.F) {
	k := GenerateKey()
	_, raw, err := Seal("c", []byte(`{}`), []byte("secret"), "0x1", []Recipient{{"m", k.Public}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"version":1,"keys":[{"member":"m","wrapped":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse(raw)
		if err != nil {
			return
		}
		_, _ = s.Open("m", k)
	})
}

// TestSealOpenWithMarkupInPublicInfo: public info with < > & (which
// json.Marshal escapes) still opens after a round trip through bytes.
func TestSealOpenWithMarkupInPublicInfo(t *testing.T) {
	k := GenerateKey()
	private := []byte(`{"x":"1"}`)
	_, raw, err := Seal("ch", []byte(`{"note":"<script>alert(1)</script> & \u2028"}`), private, "0x01", []Recipient{{"m", k.Public}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Open("m", k)
	if err != nil || !bytes.Equal(got, private) {
		t.Fatalf("open: %v", err)
	}
}

// TestParsePublicKeySmallOrder: the order-2 point and a key with a torsion
// component are refused as sealing keys (what is sealed to a small-order key
// opens for anyone).
func TestParsePublicKeySmallOrder(t *testing.T) {
	order2, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	if _, err := ParsePublicKey(order2); err == nil {
		t.Error("order-2 sealing key accepted")
	}
	T := suite.Point()
	if err := T.UnmarshalBinary(order2); err != nil {
		t.Fatal(err)
	}
	mixed, _ := suite.Point().Add(GenerateKey().Public, T).MarshalBinary()
	if _, err := ParsePublicKey(mixed); err == nil {
		t.Error("sealing key with a torsion component accepted")
	}
	good, _ := GenerateKey().Public.MarshalBinary()
	if _, err := ParsePublicKey(good); err != nil {
		t.Fatal(err)
	}
}
