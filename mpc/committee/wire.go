package committee

import (
	"fmt"

	"go.dedis.ch/kyber/v3"
	"go.dedis.ch/kyber/v3/share"
	dkg "go.dedis.ch/kyber/v3/share/dkg/rabin"
	vss "go.dedis.ch/kyber/v3/share/vss/rabin"
)

// Canonical encodings of the rabin DKG messages. kyber leaves wire encoding to
// the caller; these are bounded so that a member can send nothing that makes
// another allocate more than a few hundred kilobytes.
const (
	schnorrSigSize  = G2Size + ScalarSize // Schnorr over G2: commitment point ‖ response
	sessionIDSize   = 32                  // SHA-256
	maxNonceBytes   = 32
	maxCipherBytes  = 16 + 64 + MaxMembers*(G2Size+8) + 4*ScalarSize + 256 // protobuf deal + GCM tag, generous
	maxListElements = MaxMembers
)

func (w *writer) priShare(s *share.PriShare) {
	w.u32(uint32(s.I))
	w.scalar(s.V)
}

func (r *reader) priShare(n int) *share.PriShare {
	i := r.u32()
	v := r.scalar()
	if r.err != nil {
		return nil
	}
	if int(i) >= n {
		r.fail("share index %d outside committee of %d", i, n)
		return nil
	}
	return &share.PriShare{I: int(i), V: v}
}

func (w *writer) points(ps []kyber.Point) {
	w.u32(uint32(len(ps)))
	for _, p := range ps {
		w.point(p)
	}
}

func (r *reader) points(max int) []kyber.Point {
	n := r.count(max, G2Size)
	out := make([]kyber.Point, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.g2())
	}
	return out
}

func (w *writer) vssDeal(d *vss.Deal) {
	w.bytes(d.SessionID)
	w.priShare(d.SecShare)
	w.priShare(d.RndShare)
	w.u32(d.T)
	w.points(d.Commitments)
}

func (r *reader) vssDeal(n int) *vss.Deal {
	d := &vss.Deal{
		SessionID: r.bytes(sessionIDSize),
		SecShare:  r.priShare(n),
		RndShare:  r.priShare(n),
		T:         r.u32(),
	}
	d.Commitments = r.points(n)
	return d
}

func (w *writer) vssResponse(v *vss.Response) {
	w.bytes(v.SessionID)
	w.u32(v.Index)
	w.bool(v.Approved)
	w.bytes(v.Signature)
}

func (r *reader) vssResponse() *vss.Response {
	return &vss.Response{
		SessionID: r.bytes(sessionIDSize),
		Index:     r.u32(),
		Approved:  r.bool(),
		Signature: r.bytes(schnorrSigSize),
	}
}

func encodeDeal(d *dkg.Deal) []byte {
	w := writer{}
	w.u32(d.Index)
	w.point(d.Deal.DHKey)
	w.bytes(d.Deal.Signature)
	w.bytes(d.Deal.Nonce)
	w.bytes(d.Deal.Cipher)
	return w.buf
}

func decodeDeal(b []byte) (*dkg.Deal, error) {
	r := reader{buf: b}
	d := &dkg.Deal{Index: r.u32(), Deal: &vss.EncryptedDeal{}}
	d.Deal.DHKey = r.g2()
	d.Deal.Signature = r.bytes(schnorrSigSize)
	d.Deal.Nonce = r.bytes(maxNonceBytes)
	d.Deal.Cipher = r.bytes(maxCipherBytes)
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("deal: %w", err)
	}
	return d, nil
}

func encodeResponses(rs []*dkg.Response) []byte {
	w := writer{}
	w.u32(uint32(len(rs)))
	for _, x := range rs {
		w.u32(x.Index)
		w.vssResponse(x.Response)
	}
	return w.buf
}

func decodeResponses(b []byte, n int) ([]*dkg.Response, error) {
	r := reader{buf: b}
	k := r.count(n, 4+4+sessionIDSize+4+1+4)
	out := make([]*dkg.Response, 0, k)
	for i := 0; i < k && r.err == nil; i++ {
		out = append(out, &dkg.Response{Index: r.u32(), Response: r.vssResponse()})
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("responses: %w", err)
	}
	return out, nil
}

func encodeJustifications(js []*dkg.Justification) []byte {
	w := writer{}
	w.u32(uint32(len(js)))
	for _, j := range js {
		w.u32(j.Index)
		w.bytes(j.Justification.SessionID)
		w.u32(j.Justification.Index)
		w.vssDeal(j.Justification.Deal)
		w.bytes(j.Justification.Signature)
	}
	return w.buf
}

func decodeJustifications(b []byte, n int) ([]*dkg.Justification, error) {
	r := reader{buf: b}
	k := r.count(n, 4+4+4)
	out := make([]*dkg.Justification, 0, k)
	for i := 0; i < k && r.err == nil; i++ {
		j := &dkg.Justification{Index: r.u32(), Justification: &vss.Justification{}}
		j.Justification.SessionID = r.bytes(sessionIDSize)
		j.Justification.Index = r.u32()
		j.Justification.Deal = r.vssDeal(n)
		j.Justification.Signature = r.bytes(schnorrSigSize)
		out = append(out, j)
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("justifications: %w", err)
	}
	return out, nil
}

func encodeSecretCommits(sc *dkg.SecretCommits) []byte {
	w := writer{}
	w.u32(sc.Index)
	w.points(sc.Commitments)
	w.bytes(sc.SessionID)
	w.bytes(sc.Signature)
	return w.buf
}

func decodeSecretCommits(b []byte, n int) (*dkg.SecretCommits, error) {
	r := reader{buf: b}
	sc := &dkg.SecretCommits{Index: r.u32()}
	sc.Commitments = r.points(n)
	sc.SessionID = r.bytes(sessionIDSize)
	sc.Signature = r.bytes(schnorrSigSize)
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("secret commits: %w", err)
	}
	return sc, nil
}

func encodeComplaints(cs []*dkg.ComplaintCommits) []byte {
	w := writer{}
	w.u32(uint32(len(cs)))
	for _, c := range cs {
		w.u32(c.Index)
		w.u32(c.DealerIndex)
		w.vssDeal(c.Deal)
		w.bytes(c.Signature)
	}
	return w.buf
}

func decodeComplaints(b []byte, n int) ([]*dkg.ComplaintCommits, error) {
	r := reader{buf: b}
	k := r.count(n, 4+4+4)
	out := make([]*dkg.ComplaintCommits, 0, k)
	for i := 0; i < k && r.err == nil; i++ {
		c := &dkg.ComplaintCommits{Index: r.u32(), DealerIndex: r.u32()}
		c.Deal = r.vssDeal(n)
		c.Signature = r.bytes(schnorrSigSize)
		out = append(out, c)
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("commit complaints: %w", err)
	}
	return out, nil
}
