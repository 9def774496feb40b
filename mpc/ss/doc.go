// Package ss owns cohort's secret-sharing MPC engine: Shamir sharing over the
// BN254 scalar field with threshold t = ⌊(n−1)/2⌋ < n/2 (honest majority),
// 3 ≤ n ≤ 9, secure with abort against a malicious minority (the default,
// Config.Security = Malicious) or against a semi-honest one (SemiHonest).
//
// # Security model
//
// Malicious mode follows SPDZ-wise Shamir (Chida, Genkin, Hamada, Ikarashi,
// Kikuchi, Lindell, Nof, ePrint 2018/570, Protocols 3.x). At setup the
// committee draws a secret MAC key [α] (a joint random sharing, never
// opened). Every value is a Vec: shares of x and of α·x. Linear operations
// act on both halves (a constant c adds c·[α] to the MAC). A multiplication
// computes z = x·y and α·z = (α·x)·y in one GRR round (2m re-sharings) and
// keeps the pair; dot products reduce both sums once; inputs and random
// values get [α·x] = [α]·[x] (also kept). Before any opening of a value not
// hidden by a mask uniform over the whole field (every label but the coins,
// S-box and dealt-input openings; in particular before the bounded-mask
// openings of comparisons, equality and truncation) — to the committee or to
// one party — the party runs Verify (four rounds, check.go): a coin (a
// random sharing dealt ahead, opened with all n shares after the pairs are
// fixed) seeds coefficients ρ_k = x^k; [T] = Σρ_k[α·z_k] − [α]·Σρ_k[z_k]
// (one multiplication, so α stays secret and a job may check many times; the
// engine checks at least every 2^20 products); [s·T] for a random [s] dealt
// ahead and never opened (one more multiplication), opened with all n shares
// like every other opening, must be 0. A member that adds d to a product and
// e to its MAC passes with probability ≤ (K+2)/|F| for K pending products,
// as it knows neither α, x nor s in advance. As in the paper (CheckZero), T
// itself is never opened: a MAC error e on one product makes the next
// product with it carry e·y for an honest y, and T would reveal y; s·T is
// uniform when T ≠ 0. (Opening the degree-2t local products T_i·s_i instead
// saves a round but has no redundancy: a member that sends last can make
// them interpolate to 0 — see check.go.)
//
// Every other opening in malicious mode (masked values, coins, bitness
// results, outputs, openings to one party) sends all n shares to each
// receiver, which checks
// that they lie on one polynomial of degree t: with n ≥ 2t+1 the t+1 honest
// shares fix that polynomial, so every honest receiver learns the right value
// or aborts. Openings under a uniform mask (coins, the dealt-input check,
// S-boxes: x + r with r uniform over the field) may precede the check: what
// they open is uniform whatever a cheater did, and its effect on x is caught
// by the next check. Openings under a bounded mask (comparisons, equality,
// truncation: x + r′ + 2^m·r″, about 2^106 wide) hide x only while x is
// below about 2^65, which a cheater could break (a comparison result w+δ with
// a huge known δ makes the next level's value huge and, divided by δ, an
// honest bid); so each follows a successful check of everything computed
// before it (one check per tournament level, ration step or search step).
// For the same reason a value must be in range before it is compared:
// provider inputs are range-bound only by their commitments (and the
// providers' input-validity proofs), so every job compares them only after
// the input-commitment check passed (the auction overlaps only its
// comparison preprocessing with that check).
//
// Random bits: t+1 dealers share random bits; a bit is the XOR of the
// dealers' bits, b ⊕ b′ = b + (1−2b)·b′ (one MAC'd product per XOR, whose
// MAC half (α−2·αb)·b′ needs the left operand's MAC only: right operands —
// dealer 1 for n = 3 — are not authenticated, which saves a third of the
// bits' multiplication work). Before use, the XOR bits pass a bitness check
// (Σρ_k·b_k(1−b_k) as one dot product, opened with all n shares after the
// MAC check that covers it passed): with the honest dealer's factor ±1 in
// 1−2b = Π(1−2b_i), b(1−b) does not depend on honest bits, so the opening
// reveals only corrupted dealers' values, and it is 0 iff the corrupted
// dealers' combined contribution is a bit (b then uniform and unknown to
// them). A dealt sharing off degree t used as a right operand either makes
// a MAC error or acts as a well-formed sharing of a value the dealer knows
// (see xorProduct): as if the dealer had dealt that value. A non-zero bitness result is followed, on that failure path only, by
// per-dealer checks of the authenticated XOR bits that name the dealer. The
// bits a dealer uses alone (mask high parts, range-check masks) are
// authenticated and pass a per-dealer check (opened in the last round of
// the MAC check: an honest dealer's result is 0 whatever others did). A
// consistent non-zero per-dealer result names the dealer,
// soundly against t colluders: a wrong share sent in that opening is an
// inconsistency (unidentified), and colluders that shift their shares of the
// dealer's bits or the dot product change a value against its MAC by a
// non-zero multiple of the unknown α, which the MAC check catches. The
// bounded high parts of truncation masks, and of comparison masks in small
// batches, are composed from a dealer's own checked bits (a dealt integer could be oversized
// and make a masked opening wrap modulo q, which no MAC detects). In large
// comparison batches each dealer deals one integer per mask instead, and a
// batched range check proves them all in (−W, W): Kappa random subset sums,
// each masked by a wide integer composed from the dealer's checked bits,
// are opened in the same round as the bitness results and must lie in
// [0, W) — an integer out of range survives each with probability ≤ 1/2 —
// and the public offset (t+1)·W keeps the masks' sum positive (checkBits;
// ~4,000 bits per dealer and batch instead of 42 per comparison). Bits from squares (a random, open
// a², b = (a/√a² + 1)/2) need no dealer check but a square root per bit
// (BN254's q−1 has 2-adicity 28: tens of µs each, i.e. seconds per thousand
// 64-bit comparisons) — so dealer bits.
//
// Inputs dealt by providers outside the committee: AuthenticateDealt opens,
// per provider, Σρ_k[x_k] + [r] (ρ drawn after the shares are fixed, [r] a
// fresh joint random mask) with all n shares and aborts on any inconsistency.
// A member's own input (InputVec) goes through the same check.
//
// Identification: an abort names (as a *transport.PartyError wrapping the
// error, which costs the member credit on the ledger) only what is sound
// against t colluding members: the dealer of a non-bit or of a mask integer
// out of range (above), and a member
// that this party itself saw leave without an abort notice or stop
// answering. Every other failure — MAC check, inconsistent opening,
// inconsistent provider or member input (a dealer that sends one member a
// bad share cannot be told from a member that relays a wrong one over
// point-to-point channels) — aborts with a *CheckError naming no one.
// Decoding an inconsistent opening finds the deviator only when a single
// member deviated (two colluders, within t for n ≥ 5, can make an honest
// share the odd one out) and only for n = 2t+1 (for even n, GRR re-sharing
// lets one member add a hidden offset of degree t+1 that passes every MAC
// check and then frame an honest member): for n = 5, 7, 9 the member it
// points to appears in the error text as a suspect, never as a culprit.
// Abort notices: a party that aborts tells its peers whom it blames (or that
// a check failed), so that a cascade of aborts does not make the peers blame
// it for leaving. In malicious mode a notice is its sender's word: a peer
// relays the accusation only when it confirms on its own connection that the
// accused left without a notice, and otherwise reports an unidentified
// abort. A member that leaves with a notice thus goes unnamed — no more than
// it gets by shifting a share. A provider whose input does not open its
// commitment is named as that provider (jobs.CommitmentMismatchError).
// Members bind the security mode into setup: a mismatch fails with an error
// saying so.
//
//	| job type            | who may be malicious                                  | detected (job aborts, nothing opened or delivered)                                                                                                                                                         | identified (named, costs credit)                                                                                                                |
//	|---------------------|-------------------------------------------------------|------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------|-------------------------------------------------------------------------------------------------------------------------------------------------|
//	| first-price auction | t < n/2 committee members; any provider, recipient    | wrong product/MAC re-sharing (caught before any bounded-mask opening); flipped comparison bit; shifted share in any opening; non-bit or oversized mask dealt; provider shares off degree t; input not opening its commitment | dealer of a non-bit or oversized mask; member that leaves without a notice or stops answering; provider whose input ≠ its commitment. Decoding: suspect in text only |
//	| Vickrey auction     | same                                                  | same                                                                                                                                                                                                       | same                                                                                                                                            |
//	| clearing            | same                                                  | same, and a search step opened only after a check (a cheater cannot steer the search)                                                                                                                      | same                                                                                                                                            |
//	| (all, semi-honest)  | nobody deviates; t members may pool their views       | nothing                                                                                                                                                                                                    | members that leave or stop answering                                                                                                           |
//
// A member that stops answering is named in both modes (transport errors).
// A job's recipient (jobs.ReconstructOutput/OpenOutput) opens the signed
// output commitment from t+1 shares and refuses the output if any other
// received share is off their polynomial, naming the senders when the shares
// can tell: wrong shares can deny it its output but never make it accept
// another. ReconstructChecked (all n shares on one polynomial, nobody named)
// is for outputs without a commitment.
//
// Test-only adversary: mpc/internal/cheat attaches a deviation plan to a
// member's context (an offset, up to a field element, in its multiplication
// re-sharing, e.g. a flipped comparison bit; an offset in the MAC half only;
// a shifted share of the check opening; an oversized dealt mask integer; a hidden offset of degree t+1; a
// shifted or framing share in an opening, alone or with colluders; a dealt
// non-bit; an inconsistent own input; a lying abort notice and departure).
// Go's internal rule keeps it out of reach of the node and its configuration.
//
// A Party is one committee member's engine for one job. It speaks only the
// mpc/transport interface and offers batched, vectorised operations on Vec
// (value shares and, in malicious mode, MAC shares; the …Vec methods). The
// older fr.Vector methods (Mul, LessThan, …) are the semi-honest special
// case and refuse to run in malicious mode, where shares need MACs.
//
//   - Input / inputs: a party shares its values (one round); Share and
//     Reconstruct are the provider- and recipient-side functions for parties
//     outside the committee.
//   - Open, OpenTo: reveal to all (each party sends its share to t others and
//     reconstructs from t+1) or to one party.
//   - Mul, Dot: one-round degree reduction (GRR re-sharing). Each party
//     re-shares λ_i·(x_i y_i) with a degree-t polynomial whose values at t
//     fixed parties are drawn from pairwise AES-CTR streams keyed at setup, so
//     it sends only n−1−t vectors per round (one for n = 3). Dot products are
//     summed locally and reduced once. Random: the same with random
//     contributions.
//   - PrepareComparisons, LessThan, Equal: unsigned 64-bit comparison and
//     equality by masked opening (Catrina–de Hoogh) with 40-bit statistical
//     security, then a log-depth bitwise comparison; the random bits (XOR of
//     t+1 parties' bits) and the products of adjacent bit pairs are prepared
//     in batches ahead of the online phase.
//   - TruncPr, FixMul: probabilistic truncation and fixed-point products.
//   - Poseidon2, Commit: gnark-crypto's bn254 Poseidon2 permutation (width 2,
//     6 full + 50 partial rounds, x^5) and the project's commitment on
//     shares, bit for bit equal to NativeCommit: Poseidon2-MD(f1..fk, salt)
//     for up to 8 fields (gnark's std/hash/poseidon2 in-circuit, zk.Commit),
//     Poseidon2-MD(root, salt) over a binary tree of compressions for longer
//     inputs (clearing curves), whose ⌈log2 k⌉ levels batch in the MPC.
//
// Engineering: work is split in chunks processed by all cores, each chunk
// drawing its pairwise-PRG values from its own (round, chunk) stream; large
// rounds travel in pieces so that computing, sending and receiving overlap.
// A re-sharing computes a party's own sub-share in its result and adds the
// sub-shares its PRG partners' streams give it in the same pass, chunk by
// chunk; operands gathered for a multiplication and the levels of the
// comparison tree live in the party's (each lane's) reusable temporaries,
// so that only products and results cost fresh memory. Operands that are a
// cheap function of other vectors — the adjacent bit pairs of comparison
// preprocessing, the leaves of the less-than tree — are not stored at all:
// the multiplication computes them chunk by chunk in the worker's scratch
// (source.gen). These are local computations only: the messages, the
// products and what is kept for the MAC check are the same as with
// gathered operands. Field arithmetic on random shares avoids data-dependent
// branches (halveInto, addBF, subBF, the PRG's rejection sampling), which
// mispredict every other element. A re-sharing computes each sub-share as
// one linear combination with small integer coefficients of the product, its
// half, the PRG streams and the folded streams (linComb, by Horner's rule on
// the coefficients' bits): fewer vector passes, the same sub-shares
// (TestSubSharesMatchDefinition) — a local computation, not a protocol
// change.
// Lane gives a job concurrent sub-protocols on one connection. A party that
// fails tells its peers whom it blames, so that when failures cascade every
// party's error still names the party at fault (*transport.PartyError; in
// malicious mode only when the peer confirms it, see Identification).
//
// Testing hooks: every value a party learns is reported to Config.OnOpen with
// a label ("mask:…" for values hidden by fresh randomness: mask:lt, mask:eq
// and mask:trunc bounded, the others uniform), and all of a
// party's randomness comes from Config.Rand.
package ss
