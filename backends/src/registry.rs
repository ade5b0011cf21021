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
        &crate::c_baseline::C_BASELINE,
        &crate::c_baseline::C_OPT,
        &crate::tiered::TIERED,
        &crate::tiered::TIERED_0,
        &crate::tiered::TIERED_1,
        &crate::tiered::TIERED_NEVER,
    ]
}

/// The registered backend called `name`.
pub fn backend_by_name(name: &str) -> Option<&'static dyn Backend> {
    registry().into_iter().find(|b| b.name() == name)
}

/// The names of every registered backend, for error messages.
pub fn backend_names() -> Vec<&'static str> {
    registry().iter().map(|b| b.name()).collect()
}
