"""reports.ddim_convergence: the DDIM section of the report (issue 4: eta = 0 and 1 land on the data law)."""
from reports import ddim_convergence as D


def test_ddim_errors_shrink_with_the_step_count_and_the_fine_sampler_reaches_the_data_law():
    rows = D.convergence_rows(seed=3, step_counts=(5, 20, 160), samples=5000)
    for eta in D.ETAS:
        mine = [r for r in rows if r["eta"] == eta]
        var_errors = [r["max_var_error"] for r in mine]
        assert var_errors == sorted(var_errors, reverse=True) and var_errors[-1] < 0.03, (eta, var_errors)
        assert all(r["max_mean_error"] < 1e-12 for r in mine)          # exact eps of Gaussian data: the mean stays exact
        assert not mine[0]["ks_passed"] and mine[-1]["ks_passed"], (eta, [r["ks_distance"] for r in mine])
    tex, md = "\n".join(D.latex_section(rows)), "\n".join(D.markdown_lines(rows))
    assert tex.count(r"\\") == len(rows) + 1 and "rejected" in tex and "data law" in md
