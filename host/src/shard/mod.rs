//! Sharding a command over many processes (Slurm job arrays, Kubernetes Indexed Jobs): which shard
//! this is ([`spec`]), the units of work and who does which ([`units`]), the done markers
//! ([`marker`]), gathering every shard's marker for `merge` ([`gather`]), the shards' caches
//! ([`caches`]) and `summary --shard` ([`summary`]).

pub mod caches;
pub mod gather;
pub mod inputs;
pub mod marker;
pub mod spec;
pub mod summary;
pub mod units;

pub use spec::ShardSpec;
