"""What `plan` shows a person: the plan report, the cost estimate, the picture, the release-safety
timeline, the generated docs and the benchmark. Built on the offline engine (`offline/`) and the
compliance rules (`policy/`); neither of those imports anything from here."""
