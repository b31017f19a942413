//! How long-running library work reports its progress without knowing who watches: the
//! command line shows a bar on a terminal; tests and other callers pass [`Silent`].

/// Told about the steps of one piece of work, one step at a time.
pub trait Progress {
    /// A step of `len` units (bytes, samples) begins; `what` names it for people.
    fn start(&self, what: &'static str, len: u64);
    /// `done` of the current step's units are done.
    fn advance(&self, done: u64);
    /// The current step is over.
    fn finish(&self);
}

/// Progress that nobody watches.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &'static str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
