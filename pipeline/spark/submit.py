"""The file to give ``spark-submit``: the ``csqa`` command line, with spark-submit's master and resources.

    spark-submit --master yarn --deploy-mode client \\
        "$(python -c 'import csqa.pipeline.spark.submit as m; print(m.__file__)')" \\
        spark refresh --lake /data/csqa-lake

``csqa spark load``/``refresh`` started this way take the master spark-submit set (``--master`` is only needed
outside spark-submit). csqa and its dependencies must be installed in the Python environment of the driver
and of every executor (``PYSPARK_PYTHON``), see docs/SCALE.md.
"""

import sys

from csqa.pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
