"""Numbers the papers report, shown beside ours and marked as reported.

Sources are in ``../shared/papers/``:

- ``dual_ae_spectral_cvpr2019.txt``, Table 3 (Yang et al., CVPR 2019): DSCDAN
  itself and the baselines it quotes (K-means, SC-Ncut, DEC, IDEC, VaDE),
  ACC and NMI only.  Entries marked * there were taken by the authors from
  the original papers.

DCCS's own figures (Zhao et al., ECCV 2020) are not shown: the only copy here,
``official_code_notes.md``, flags them as recalled and not checked against the
paper, and a page a user reads quotes only figures checked against a source.
"""

DSCDAN_TABLE = "Yang et al. 2019, Table 3"
# The papers' methods, named as the papers name them: the suite fits ClustPy's implementations
# of DEC, IDEC and VaDE, but the reported figures are the original methods'.
PAPER_NAMES = {"clustpy-dec": "DEC", "clustpy-idec": "IDEC", "clustpy-vade": "VaDE"}

# (method, dataset) -> {"acc", "nmi", "ari" (optional), "source"}
REPORTED = {
    ("dual-ae-spectral", "mnist"): {"acc": 0.978, "nmi": 0.941, "source": DSCDAN_TABLE},
    ("dual-ae-spectral", "mnist-test"): {"acc": 0.980, "nmi": 0.946, "source": DSCDAN_TABLE},
    ("dual-ae-spectral", "usps"): {"acc": 0.869, "nmi": 0.857, "source": DSCDAN_TABLE},
    ("dual-ae-spectral", "fashion-mnist"): {"acc": 0.662, "nmi": 0.645, "source": DSCDAN_TABLE},
    ("kmeans", "mnist"): {"acc": 0.532, "nmi": 0.500, "source": DSCDAN_TABLE},
    ("kmeans", "mnist-test"): {"acc": 0.546, "nmi": 0.501, "source": DSCDAN_TABLE},
    ("kmeans", "usps"): {"acc": 0.668, "nmi": 0.601, "source": DSCDAN_TABLE},
    ("kmeans", "fashion-mnist"): {"acc": 0.474, "nmi": 0.512, "source": DSCDAN_TABLE},
    ("spectral", "mnist"): {"acc": 0.656, "nmi": 0.731, "source": DSCDAN_TABLE + " (SC-Ncut)"},
    ("spectral", "mnist-test"): {"acc": 0.660, "nmi": 0.704, "source": DSCDAN_TABLE + " (SC-Ncut)"},
    ("spectral", "usps"): {"acc": 0.649, "nmi": 0.794, "source": DSCDAN_TABLE + " (SC-Ncut)"},
    ("spectral", "fashion-mnist"): {
        "acc": 0.508,
        "nmi": 0.575,
        "source": DSCDAN_TABLE + " (SC-Ncut)",
    },
    ("clustpy-dec", "mnist"): {"acc": 0.863, "nmi": 0.834, "source": DSCDAN_TABLE},
    ("clustpy-dec", "mnist-test"): {"acc": 0.856, "nmi": 0.830, "source": DSCDAN_TABLE},
    ("clustpy-dec", "usps"): {"acc": 0.762, "nmi": 0.767, "source": DSCDAN_TABLE},
    ("clustpy-dec", "fashion-mnist"): {"acc": 0.518, "nmi": 0.546, "source": DSCDAN_TABLE},
    ("clustpy-idec", "mnist"): {"acc": 0.881, "nmi": 0.867, "source": DSCDAN_TABLE},
    ("clustpy-idec", "mnist-test"): {"acc": 0.846, "nmi": 0.802, "source": DSCDAN_TABLE},
    ("clustpy-idec", "usps"): {"acc": 0.761, "nmi": 0.785, "source": DSCDAN_TABLE},
    ("clustpy-idec", "fashion-mnist"): {"acc": 0.529, "nmi": 0.557, "source": DSCDAN_TABLE},
    ("clustpy-vade", "mnist"): {"acc": 0.945, "nmi": 0.876, "source": DSCDAN_TABLE},
    ("clustpy-vade", "usps"): {"acc": 0.566, "nmi": 0.512, "source": DSCDAN_TABLE},
    ("clustpy-vade", "fashion-mnist"): {"acc": 0.578, "nmi": 0.630, "source": DSCDAN_TABLE},
}
