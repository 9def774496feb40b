// Package jobs owns cohort's job circuits: what a committee computes for a
// request, on top of the engines in mpc/he (homomorphic: credit scoring,
// aggregate statistics) and mpc/ss (secret sharing: auctions, clearing).
package jobs
