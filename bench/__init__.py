"""The validation and merge benchmark behind ``make bench``.

Walk down from :mod:`bench.__main__`: it generates the synthetic ``deals`` files
(:mod:`bench.synthetic_deals`), starts one moto server for S3 and Glue, runs every measured
case in a fresh Python process (:mod:`bench.cases`), and writes the ratios it finds to
``bench/results.md`` (:mod:`bench.report`; the figures of repeated runs: :mod:`bench.runs`; the
machine they ran on: :mod:`bench.machine`).
"""
