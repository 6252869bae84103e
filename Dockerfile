# Production-like image: web (gunicorn), workers, beat and the sandbox gateway share it.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client gettext \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY . .
# The catalogues are compiled here (.mo files are not committed).
RUN DEBUG=1 python manage.py compilemessages --ignore='static/vendor/*' \
    && DEBUG=1 python manage.py collectstatic --noinput && useradd --create-home isend \
    && mkdir -p /app/var && chown -R isend /app/var
USER isend
EXPOSE 8000
CMD ["gunicorn", "isend.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--forwarded-allow-ips", "*", "--access-logfile", "-"]
