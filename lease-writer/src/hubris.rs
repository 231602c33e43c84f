//! Glue for a real Hubris task, where `idol_runtime` is in scope.

/// Implements the lease traits for `idol_runtime::Leased<_, [u8]>`.
///
/// `idol_runtime` is not a published crate, so this workspace cannot name it;
/// the macro is expanded in the Hubris task instead. Rust's orphan rule
/// forbids implementing this crate's traits for `idol_runtime`'s type in a
/// third crate, so the macro defines two local newtypes, `HubrisReadLease` and
/// `HubrisWriteLease`, and implements the traits for them. Pass the path of
/// the `idol_runtime` crate (or a module with the same items).
///
/// Every access checks its range first, so only an in-bounds access reaches
/// the kernel; a failure there can only mean the lender went away.
///
/// ```ignore
/// lease_writer::hubris_lease_glue!(idol_runtime);
///
/// fn read_ereports(&mut self, lease: Leased<W, [u8]>) -> Result<usize, _> {
///     let w = LeaseWriter::<_>::starting_at(HubrisWriteLease(lease), 26)?;
///     // ...
/// }
/// ```
#[macro_export]
macro_rules! hubris_lease_glue {
    ($idol:ident) => {
        /// A write lease from Hubris IPC.
        pub struct HubrisWriteLease(pub $idol::Leased<$idol::W, [u8]>);

        /// A read lease from Hubris IPC.
        pub struct HubrisReadLease(pub $idol::Leased<$idol::R, [u8]>);

        impl $crate::Lease for HubrisWriteLease {
            fn len(&self) -> usize {
                self.0.len()
            }
        }

        impl $crate::WriteLease for HubrisWriteLease {
            fn write_at(
                &mut self,
                offset: usize,
                src: &[u8],
            ) -> ::core::result::Result<(), $crate::AccessError> {
                let range = $crate::checked_range(offset, src.len(), self.0.len())?;
                self.0
                    .write_range(range, src)
                    .map_err(|()| $crate::AccessError::WentAway)
            }
        }

        impl $crate::Lease for HubrisReadLease {
            fn len(&self) -> usize {
                self.0.len()
            }
        }

        impl $crate::ReadLease for HubrisReadLease {
            fn read_at(
                &self,
                offset: usize,
                dst: &mut [u8],
            ) -> ::core::result::Result<(), $crate::AccessError> {
                let range = $crate::checked_range(offset, dst.len(), self.0.len())?;
                self.0
                    .read_range(range, dst)
                    .map_err(|()| $crate::AccessError::WentAway)
            }
        }
    };
}
