//! Corpus patterns that are the project's own mistakes, reported as makes reports them: a
//! documented `dynamoDb` example whose `data` list holds a function (`[ projectPath "/x" ]`)
//! is refused with the module system's type error for makes' `listOf str` option, naming the
//! option and the entry, rather than a failed string coercion deep in makes' builder.

use crate::common::{write_project, Sandbox};

#[test]
fn a_dynamodb_data_entry_that_is_no_string_is_refused_as_makes_option_type_refuses_it() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("p");
    write_project(
        &dir,
        r#"{ projectPath, ... }: {
  dynamoDb.usersdb = {
    host = "localhost";
    data = [
      projectPath "/test/database/data"
    ];
  };
}
"#,
    );
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&dir)
        .args(["show", "/dynamoDb/usersdb"])
        .output()
        .expect("makes starts");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "A definition for option `dynamoDb.usersdb.data.\"[definition 1-entry 1]\"' is not of type `string'"
        ),
        "{err}"
    );
}
