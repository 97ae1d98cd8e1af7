"""The spine: Explanation, method registry, batched scorer, targets, hooks, timing."""
