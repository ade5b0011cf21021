//! The registry: every backend by name. Kept apart from the [`Backend`] trait so that the trait's
//! module names no backend and no backend depends on the list of all of them.

use crate::backend::Backend;

/// Every registered backend, the reference first.
pub fn registry() -> Vec<&'static dyn Backend> {
    vec![
        &crate::reference::Reference,
        &crate::bytecode::BytecodeBackend,
        &crate::dynasm_simple::DynasmSimple,
        &crate::handjit::HandJit,
        &crate::dynasm_opt::DynasmOpt,
        &crate::cranelift::Cranelift,
        &crate::c_baseline::naive::C_NAIVE,
        &crate::c_baseline::C_GUARDED,
        &crate::c_baseline::C_OPT,
        &crate::tiered::TIERED,
        &crate::tiered::TIERED_0,
        &crate::tiered::TIERED_1,
        &crate::tiered::TIERED_NEVER,
    ]
}

/// Old names still accepted, with the backend each now stands for.
pub const ALIASES: [(&str, &str); 1] = [("c-baseline", "c-guarded")];

/// The registered backend called `name` (or an old name of it, see [`ALIASES`]).
pub fn backend_by_name(name: &str) -> Option<&'static dyn Backend> {
    let name = ALIASES
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| *new);
    registry().into_iter().find(|b| b.name() == name)
}

/// The names of every registered backend, for error messages.
pub fn backend_names() -> Vec<&'static str> {
    registry().iter().map(|b| b.name()).collect()
}
