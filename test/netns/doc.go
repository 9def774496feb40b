// Package netns builds a small network of separate hosts on one Linux
// machine for the multi-host tests: each host is a network namespace with its
// own loopback and one interface (eth0) on a shared subnet, and the hosts are
// joined by a switch that delays every frame by a latency with jitter, can cut
// a host off and can partition the hosts into groups.
//
// The switch runs in the test process over TAP devices. Frames are delayed
// by `tc netem` on each host's eth0 when the kernel has sch_netem, and by
// the switch otherwise: netem is missing from many CI and VM kernels (this
// machine's kernel is built without it), and the switch gives the same
// delay model there. Partitions are the switch's (it drops frames between
// groups silently, as a failed switch would); cutting a host off uses the
// kernel: its eth0 is set down inside its namespace.
//
// Everything needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); New reports
// ErrUnsupported when namespaces or TAP devices cannot be made, so that a test
// can skip.
package netns
