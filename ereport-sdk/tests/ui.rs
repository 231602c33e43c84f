//! Compile-fail tests: every misuse of the derives and the reporter is a
//! compile error with the message a user would read.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
