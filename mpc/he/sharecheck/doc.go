// Package sharecheck lets an HE committee verify, inside its malicious-secure
// SS engine (mpc/ss), that every member's setup shares are well formed and
// short: lattigo v5's mhe shares carry no proofs, and a member that sends a
// public-key share p = −a·s + e whose error e is far larger than the
// protocol's (σ = 3.2, |e| ≤ 6σ) would otherwise pass the setup's key test
// (BGV decodes exactly at the top level) and then read the collective secret
// from the key test's flooded decryption, or shift every CKKS result alike
// (see mpc/he's doc.go).
//
// # What is proven
//
// Member D proves knowledge of ternary secrets (s, and for the first
// relinearisation round its ephemeral u) and, per share polynomial, an
// integer error polynomial e with coefficients in [−32, 32), such that every
// share polynomial p satisfies its relation (Setup) modulo every prime q_j
// of QP, the same e in every limb:
//
//	public-key share (CKG):  p     = −a·s + e
//	RKG round 1, row i:      h0_i  = −c_i·u + P·s·1[q_j in row i's RNS group] + e0_i
//	                         h1_i  =  c_i·s + e1_i
//
//	RKG round 2, row i:      h2_0_i = R0_i·s + e2_i         (R0, R1: the first
//	                         h2_1_i = R1_i·(u − s) + e3_i    round's aggregate)
//
//	Galois share, row i:     h_i    = −c_i·π(s) + P·s·1[…] + e_i   (π = X → X^(g^-1))
//
// With lattigo's base-2 gadget decomposition (Setup.BaseTwoDecomposition =
// w > 0; the presets use RNS decomposition only) every row i has several
// columns k, each a relation of its own with its own error, the scalar P
// of column k being P·2^(w·k): h0_i,k = −c_i,k·u + P·2^(w·k)·s·1[…] + e0_i,k,
// and likewise h1_i,k, round two's h2_i,k and the Galois h_i,k. The cost
// (see Cost) grows with the number of entries, rows × columns, and a row
// part of Setup.RowParts holds all of its row's columns.
//
// Covered: the public-key share, both relinearisation rounds and the Galois
// key shares (System; SystemRoundTwo, which re-proves the public-key share
// and row 0's h0 so that its fresh inputs are the same s and u, since a
// uniform public a leaves two short solutions with negligible probability;
// SystemsGalois, every Galois element in one batched check that re-proves
// the public-key share once; SystemGalois, one element with the public-key
// share, for tests and benchmarks). Not covered (caught only by mpc/he's
// key test, without naming anyone): the consistency of the Shamir shares a
// member deals of its secret with the s proven here.
//
// # Protocol (Check)
//
//  1. Each member inputs (ss.InputVec: degree-t checked, authenticated) its
//     secrets as field elements and each error coefficient as the 6 bits of
//     e + 32.
//  2. A joint coin (a random sharing opened with all n shares) gives, per
//     limb j and repetition, a point z ∈ [0, q_j) and c_k = z^k mod q_j.
//  3. For each relation, limb and point the integer
//     L = Σ_k c_k·(Σ ±(A·x)_k + e_k − p_k), with (A·x)_k the exact integer
//     negacyclic product of the public A (coefficients in [0, q_j)) and the
//     secret, is a multiple q_j·W of q_j when the relation holds; D computes
//     W and inputs its bits (W + 2^wb, |W| < 2^wb with wb = log N + log q_j +
//     log(terms·N + 2), about 92 bits).
//  4. A second coin gives the coefficients of random linear combinations.
//     Per member and round, Z = Σ ρ_ρ·σ_{j,rep}·(L − q_j·W) is linear in D's
//     shares with public coefficients (Σ_k c_k·(A·x)_k = ⟨x, A*·c⟩ for the
//     adjoint A*, computed in the clear by a negacyclic FFT over BN254's Fr),
//     and B = Σ ρ^i·b_i(b_i−1) + Σ ρ^i·(x_i³ − x_i) over D's bits and secret
//     coefficients, each value with its own power of one random ρ (one
//     product per secret coefficient, one dot product per member).
//  5. Z and B of every member are opened together under a non-mask label,
//     so the engine's MAC check of every product runs first. Any non-zero
//     value names its member.
//
// # Batches (CheckBatch)
//
// A batch is several systems on the same secrets run as one check, part
// after part: part 0 inputs the secrets (checked ternary in its B) and its
// error bits; every later part inputs only its own error bits and proves
// its relations on part 0's secret sharings. Each part runs steps 1–4 with
// its own two coins, drawn after its own inputs, and is folded into its own
// values Z_{D,part,g} and B_{D,part} before the next part's statements and
// shares are made; step 5 opens every part's values at once (one MAC check
// of every product of the batch). So memory holds one part's input shares
// (n·(error bits + quotient bits) sharings of two field elements each), not
// the batch's, and the batch costs one input and ternary check of the
// secrets and one opening instead of one per part. The setup checks its
// Galois keys as one batch (SystemsGalois: part 0 re-proves the public-key
// share, which fixes s; part 1+i is element i's rows) and each
// relinearisation round as a batch of its gadget rows (System.Split with
// Setup.RowParts: the public-key and re-proven relations go with row 0).
// Check is a batch of one part.
//
// # Soundness
//
// Field elements are integers only while bounded: the bit checks bound each
// e_k to [−32, 32) and W to [−2^wb, 2^wb), the ternary check bounds x, and
// the public A, p, c lie in [0, q_j). Then |L| < N·q_j²·(terms·N + 2) and
// |L − q_j·W| < 2^(wb + log q_j + 1) < r/2 (about 2^152 against r ≈ 2^254,
// checked by System.init), so Z ≡ 0 mod r for the combination means (but for
// probability 2/r, over coefficients drawn after every input, see below)
// that each
// L = q_j·W as integers, i.e. L ≡ 0 mod q_j. L is the evaluation at z of the
// polynomial (Σ ±A·x + e − p) mod (q_j, X^N+1) of degree < N, drawn after
// the witness was fixed: if the relation fails mod q_j, L ≡ 0 for a random z
// with probability ≤ (N−1)/q_j (Schwartz–Zippel), so with DefaultReps = 3
// points per limb ≤ ((N−1)/q_j)^3: 2^-92 for N = 2^14 and the secure
// preset's smallest prime (45 bits), 2^-98 at N = 2^12. W is input after z
// is known, which is sound: W is determined by the witness and z (L/q_j),
// and the combination's ρ comes only after W is fixed. B ≠ 0 for a non-bit
// or non-ternary value except with probability M/r for M values (the powers
// of ρ make B a polynomial of degree M in ρ), and Z's coefficients
// ρ_ρ·σ_{j,rep} make it a degree-2 polynomial in them, zero with probability
// ≤ 2/r when some term is not. The MAC check (ss) makes
// the opened values those of D's dealt inputs except with probability
// ≤ (K+2)/r; the engine is secure with abort against t < n/2 malicious
// members (honest majority; n ≥ 3).
//
// In a batch the argument holds per part, unchanged: a part's points come
// after its own inputs and the secrets (both fixed, as sharings, before the
// part's first coin), its quotients W before its combination, so each
// part's Z and B are polynomials in coins drawn after everything they
// combine. That a member chooses a later part's inputs knowing earlier
// parts' coins does not matter: those coins only enter earlier parts'
// values, already fixed, and every (member, part, group) value and every
// (member, part) B is opened and tested for zero on its own — nothing is
// summed across parts, so no later value can cancel an earlier one. A false
// relation in any part thus survives with the probabilities above, and the
// bit checks of every part bound every value the relations use (the secrets
// by part 0's ternary check).
//
// # Identification and privacy
//
// Each opened value depends on one member's inputs only, and is opened after
// a passing MAC check with all n shares, so a non-zero Z or B names that
// member (*transport.PartyError with the round of the failing share; a
// failed bit or ternary check, or a failing share re-proven from an earlier
// check, in the round of the check that ran, System.CheckRound — per part
// in a batch: a Galois element's part reports its own bit check in that
// element's round, the Galois batch's part 0 (the re-proven public-key
// share and the ternary check of s) in the first element's round, and the
// parts of a split relinearisation round in that round): sound
// against t colluders,
// who cannot move another member's value past the MAC check. A failed MAC
// check, an inconsistent opening or an inconsistent dealt input aborts naming
// nobody, as in the engine. The statements are what each member received:
// a member that sends different shares to different members makes the
// honest members' public constants differ, so its opening is inconsistent
// (an unnamed abort) or, for n = 2t+1 where t+1 honest shares always lie on
// one polynomial, checks a mix of its shares. Callers must therefore agree
// on the statements first: mpc/he's setup compares a digest of the received
// shares before each check (SetupProtocol.SharesDigest). Privacy: besides the coins (uniform), the check
// opens only Z and B, which are 0 for an honest member; the engine's own
// checks open only what mpc/ss documents. A member's secret and errors never
// leave it other than as Shamir shares — but shares of the engine's degree
// ⌊(n−1)/2⌋, which any ⌊(n−1)/2⌋+1 = ⌈n/2⌉ members open by pooling them
// (TestSecretOpensToHonestMajority). The check therefore keeps the HE
// committee's privacy (fewer than t colluders learn nothing) only when the
// HE threshold t ≤ MaxThreshold(n) = ⌈n/2⌉; mpc/he runs it only then
// (he.ShareCheckRuns) and sets up a committee with a larger t without it,
// unchecked. Use t = ⌈n/2⌉ for malicious security: the setup is then secure
// against ⌊(n−1)/2⌋ malicious members, and privacy holds against fewer than
// t colluders.
//
// # Cost
//
// Per member and part: (secrets in part 0 + 6·relations)·N inputs and
// products for the bits (one dot product: local multiplications, one
// re-sharing), one product per secret coefficient in part 0, and
// relations·limbs·3·93 quotient bits; the public side is
// O((public polynomials + 1)·limbs) negacyclic FFTs of length N over Fr per
// member, and O(relations·limbs·N) field operations. The member's own side
// (its errors and quotients) needs the exact integer products Σ ±A·x
// (|·| < 2^80): they are computed with lattigo's 64-bit NTTs modulo two
// auxiliary 58-bit primes and recovered by CRT, not over Fr. At the secure
// preset (N = 2^14, 9 limbs, 4 RNS rows): public-key share and RKG round 1,
// 9 relations, ≈ 0.94 M inputs per member (in the setup, 4 parts of at most
// 3 relations); round 2, 10 relations, ≈ 1.04 M (4 parts of at most 4);
// the 13 Galois elements of BenchmarkSetupSecure, one batch of 1 + 13·4
// relations, 5.34 M inputs (0.12 M for part 0, 0.40 M per element, against
// 0.52 M per element when each was its own check re-proving the public-key
// share with s input again: 6.75 M).
//
// Measured (4 members in one process on 2 shared cores, A/B in one window,
// 22:16–22:27 UTC on 2026-12-06; the machine was loaded, load average
// 8–15, so wall times are inflated and noisy — in another window the
// setup took 92 s against 298 s — and CPU, allocation and peak RSS are the
// comparable figures; before = one check per Galois element with Fr
// products, after = batches, row parts, 64-bit exact products):
//
//	BenchmarkSetupSecure (mpc/he, t = 2, 13 Galois keys)  before    after
//	  user + system CPU                                   132.5 s   82.8 s
//	  allocated                                           86.4 GB   43.5 GB
//	  peak RSS (/usr/bin/time)                            6.27 GB   4.10 GB
//	  wall                                                316 s     224 s
//	  Galois checks, CPU (profile, another window)        45.3 s    24.0 s
//	BenchmarkCheck (one check each; single part)          before    after
//	  user + system CPU, all four                         38.7 s    28.3 s
//	  allocated: pk+rkg1 / rkg2 / galois (GB)             7.6/9.0/4.5  4.6/5.4/2.7
//	  peak RSS                                            3.78 GB   2.89 GB
package sharecheck
