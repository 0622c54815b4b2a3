"""Electronic supervision (行政许可电子监察): rules, alerts, the sweep."""
