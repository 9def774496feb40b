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
// hidden by fresh randomness (label without the "mask:" prefix) — to the
// committee or to one party — the party runs Verify: a coin (a fresh random
// sharing opened with all n shares) seeds coefficients ρ_k drawn after the
// pairs are fixed; [T] = Σρ_k[α·z_k] − [α]·Σρ_k[z_k] (one multiplication, so
// α stays secret and a job may check many times; the engine checks at least
// every 2^20 products) is opened with all n shares and must be 0. A member
// that adds d to a product and e to its MAC passes with probability ≤ 2/|F|,
// as it knows neither α nor ρ. Deviation from the paper: T is opened directly
// (not T·[s]); a non-zero T aborts the job, so what it reveals about α no
// longer matters.
//
// Every opening in malicious mode (masked values, coins, checks, outputs,
// openings to one party) sends all n shares to each receiver, which checks
// that they lie on one polynomial of degree t: with n ≥ 2t+1 the t+1 honest
// shares fix that polynomial, so every honest receiver learns the right value
// or aborts. Masked openings (comparisons, truncation, S-boxes) happen before
// the check: what they open is uniformly masked whatever a cheater did, and a
// cheater's effect on the masked value is caught by the next check, before
// anything unmasked is opened.
//
// Random bits: t+1 dealers share random bits, which are authenticated and,
// before use, pass a per-dealer bitness check (Σρ_k·b_k(1−b_k) as one dot
// product, opened after a MAC check; non-zero names the dealer, since the
// arithmetic was just checked); a bit is the XOR of the dealers' bits. The
// bounded high parts of comparison and truncation masks are composed from
// such bits (a dealt integer could be oversized and make a masked opening
// wrap modulo q, which no MAC detects). Bits from squares (a random, open
// a², b = (a/√a² + 1)/2) need no dealer check but a square root per bit
// (BN254's q−1 has 2-adicity 28: tens of µs each, i.e. seconds per thousand
// 64-bit comparisons) — so dealer bits.
//
// Inputs dealt by providers outside the committee: AuthenticateDealt opens,
// per provider, Σρ_k[x_k] + [r] (ρ drawn after the shares are fixed, [r] a
// fresh joint random mask) with all n shares and aborts on any inconsistency.
//
// Identification: when an opening's n shares are inconsistent and nothing was
// dealt since the last successful check (so every sharing is consistent and
// an off share can only be a wrong share sent in this opening), the party
// names the one member whose removal leaves n−1 consistent shares; this needs
// n−1 ≥ t+2 (n = 5, 7, 9 and 4, 6, 8; never n = 3). It is the deviator when
// at most ⌊(n−t−1)/2⌋ members deviate in that opening (one for n = 5); a
// larger coalition can make an honest member's share the odd one out, which
// the shares of one opening cannot tell apart. Every other failure — MAC
// check, inconsistency in a masked opening, inconsistent provider shares
// (a provider that deals one member a bad share cannot be told from a member
// that relays a wrong one over point-to-point channels) — aborts with a
// *CheckError naming no one, and a party that aborts so tells its peers
// (abort notice), so that they do not blame it for leaving. A dealt non-bit
// names its dealer. A failure never names an honest member (under the bound
// above); a named member comes as a *transport.PartyError wrapping the
// *CheckError.
//
//	| job type            | who may be malicious                                  | detected (job aborts, nothing opened or delivered)                                                                                                                     | identified                                                                                                                                   |
//	|---------------------|-------------------------------------------------------|------------------------------------------------------------------------------------------------------------------------------------------------------------------------|----------------------------------------------------------------------------------------------------------------------------------------------|
//	| first-price auction | t < n/2 committee members; any provider, recipient    | wrong product/MAC re-sharing; flipped comparison bit; shifted share in any opening; non-bit dealt; provider shares off degree t; input not opening its commitment      | member shifting an unmasked opening after a check (n ≥ 4, one deviator); dealer of a non-bit (any n); provider whose input ≠ its commitment |
//	| Vickrey auction     | same                                                  | same                                                                                                                                                                   | same                                                                                                                                         |
//	| clearing            | same                                                  | same, and a search step opened only after a check (a cheater cannot steer the search)                                                                                  | same                                                                                                                                         |
//	| (all, semi-honest)  | nobody deviates; t members may pool their views       | nothing                                                                                                                                                                | members that leave or stop answering                                                                                                        |
//
// A member that stops answering is named in both modes (transport errors).
// A recipient receiving all n output shares checks them the same way
// (ReconstructChecked); with fewer it relies on the signed output commitment.
//
// Test-only adversary: mpc/internal/cheat attaches a deviation plan to a
// member's context (offset in its multiplication re-sharing, a flipped
// comparison bit, a shifted share in an opening, a dealt non-bit). Go's
// internal rule keeps it out of reach of the node and its configuration.
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
// Lane gives a job concurrent sub-protocols on one connection. A party that
// fails tells its peers whom it blames, so that when failures cascade every
// party's error still names the party at fault (*transport.PartyError).
//
// Testing hooks: every value a party learns is reported to Config.OnOpen with
// a label ("mask:…" for values hidden by fresh randomness), and all of a
// party's randomness comes from Config.Rand.
package ss
