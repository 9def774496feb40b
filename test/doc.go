// Package test holds cohort's multi-node integration, end-to-end and
// adversarial tests. They build the cohort binary and run nodes as separate
// processes, as an operator would: on loopback, or (TestNetNS, as root) on
// separate hosts made of network namespaces with network latency, where
// hosts are cut off, partitioned and killed (see test/netns).
package test
