"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 06:15:11.608172
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quartiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quartiers')),
    sa.UniqueConstraint('code', name=op.f('uq_quartiers_code'))
    )
    op.create_table('themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('offered_to_habitants', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_themes')),
    sa.UniqueConstraint('code', name=op.f('uq_themes_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('session_generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address_enc', sa.Text(), nullable=False),
    sa.Column('address_mask', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('joined_via', sa.String(length=64), nullable=True),
    sa.Column('first_seen_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('consent_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('opted_out_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('unreachable_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('age_range', sa.String(length=20), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_participants_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_participants_pseudonym'))
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_joined_via'), ['joined_via'], unique=False)
        batch_op.create_index(batch_op.f('ix_participants_quartier_id'), ['quartier_id'], unique=False)

    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('intro', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('outro', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('theme_code', sa.String(length=60), nullable=True),
    sa.Column('max_reasks', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_surveys_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_surveys_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('slug', name=op.f('uq_surveys_slug'))
    )
    op.create_table('user_quartiers',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_user_quartiers_quartier_id_quartiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_quartiers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'quartier_id', name=op.f('pk_user_quartiers'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('target', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('starts_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('closes_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('remind_after_hours', sa.Integer(), nullable=True),
    sa.Column('allow_quiet_hours', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('hold_reason', sa.String(length=40), nullable=True),
    sa.Column('budget_approved', sa.Boolean(), nullable=False),
    sa.Column('launched_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('closed_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('retour_text', sa.Text(), nullable=True),
    sa.Column('retour_sent_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_campaigns_approved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaigns_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_campaigns_survey_id_surveys'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)

    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('goto', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_questions_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('survey_id', 'position', name=op.f('uq_questions_survey_id'))
    )
    op.create_table('join_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_join_codes_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_join_codes_quartier_id_quartiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_join_codes_survey_id_surveys'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_join_codes_code'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('finished_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('intervenant_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['join_codes.id'], name=op.f('fk_conversations_action_id_join_codes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intervenant_id'], ['users.id'], name=op.f('fk_conversations_intervenant_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_conversations_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_conversations_participant_id_participants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_conversations_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_campaign_status', ['campaign_id', 'status'], unique=False)
        batch_op.create_index('ix_conversations_campaign_participant', ['campaign_id', 'participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_participant_id'), ['participant_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('address_enc', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('expects', sa.String(length=20), nullable=False),
    sa.Column('media', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('wait_quiet_hours', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sa.String(length=80), nullable=True),
    sa.Column('claimed_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('in_reply_to_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('sent_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('delivered_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('units', sa.Integer(), nullable=True),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('price_unit', sa.String(length=3), nullable=True),
    sa.Column('sender', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('processed_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_messages_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['in_reply_to_id'], ['messages.id'], name=op.f('fk_messages_in_reply_to_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_messages_participant_id_participants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('channel', 'direction', 'provider_id', name='uq_messages_provider')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_outbox', ['status', 'channel', 'priority', 'next_attempt_at', 'id'], unique=False, postgresql_where=sa.text("status IN ('pending', 'claimed', 'sending')"))
        batch_op.create_index(batch_op.f('ix_messages_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index('ix_messages_recorded', ['sender', 'id'], unique=False, sqlite_where=sa.text("status = 'recorded'"), postgresql_where=sa.text("status = 'recorded'"))
        batch_op.create_index('ix_messages_failed', ['sender'], unique=False, sqlite_where=sa.text("status = 'failed'"), postgresql_where=sa.text("status = 'failed'"))
        batch_op.create_index(batch_op.f('ix_messages_sent_at'), ['sent_at'], unique=False)

    op.create_table('answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('understood', sa.Boolean(), nullable=False),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_answers_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_answers_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answers'))
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index('ix_answers_conversation_understood', ['conversation_id', 'understood'], unique=False)
        batch_op.create_index('ix_answers_created_understood', ['created_at', 'understood', 'conversation_id'], unique=False)

    op.create_table('contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('media', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('suggested_version', sa.String(length=40), nullable=True),
    sa.Column('personal_data_version', sa.String(length=40), nullable=True),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=40), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('intervenant_id', sa.Integer(), nullable=True),
    sa.Column('to_quote', sa.Boolean(), nullable=False),
    sa.Column('theme_state', sa.String(length=10), server_default='a_trier', nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['join_codes.id'], name=op.f('fk_contributions_action_id_join_codes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intervenant_id'], ['users.id'], name=op.f('fk_contributions_intervenant_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_contributions_answer_id_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_contributions_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_contributions_participant_id_participants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_contributions_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_contributions_question_id_questions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_contributions_survey_id_surveys'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributions'))
    )
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contributions_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_intervenant_id'), ['intervenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_quartier_id'), ['quartier_id'], unique=False)
        batch_op.create_index('ix_contributions_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_contributions_created_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_contributions_quartier_created', ['quartier_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_contributions_created_people', ['created_at', 'quartier_id', 'participant_id', 'language', 'action_id'], unique=False)
        batch_op.create_index('ix_contributions_language_created', ['language', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_contributions_state_status', ['theme_state', 'status'], unique=False)
        batch_op.create_index('ix_contributions_quartier_state', ['quartier_id', 'theme_state', 'status'], unique=False)
        batch_op.create_index('ix_contributions_state_created', ['theme_state', 'created_at', 'id'], unique=False)

    op.create_table('categorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('model_version', sa.String(length=40), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_categorisations_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_categorisations_theme_id_themes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_categorisations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categorisations')),
    sa.UniqueConstraint('contribution_id', 'theme_id', 'source', name=op.f('uq_categorisations_contribution_id'))
    )
    with op.batch_alter_table('categorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categorisations_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index('ix_categorisations_theme_contribution', ['theme_id', 'contribution_id'], unique=False)
        batch_op.create_index('ix_categorisations_source_contribution', ['source', 'contribution_id', 'theme_id'], unique=False)

    # Each contribution's thème state, kept on its row by triggers on categorisations: see
    # storage/theme_state.py, which owns the SQL so that the inbox and this migration agree.
    from storage import theme_state
    theme_state.create(op.get_bind())

    op.create_table('contribution_months',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('quartier_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('theme_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('theme_state', sa.String(length=10), nullable=False),
    sa.Column('contributions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'quartier_id', 'theme_id', 'theme_state', name=op.f('pk_contribution_months'))
    )
    # Contributions per UTC month, quartier, thème state and confirmed thème (the tableau de bord's
    # thème table), kept by triggers on contributions and categorisations: see
    # storage/contribution_months.py.
    from storage import contribution_months
    contribution_months.create(op.get_bind())

    op.create_table('participant_activity',
    sa.Column('participant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('quartier_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('action_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('m01', sa.Integer(), nullable=False),
    sa.Column('m02', sa.Integer(), nullable=False),
    sa.Column('m03', sa.Integer(), nullable=False),
    sa.Column('m04', sa.Integer(), nullable=False),
    sa.Column('m05', sa.Integer(), nullable=False),
    sa.Column('m06', sa.Integer(), nullable=False),
    sa.Column('m07', sa.Integer(), nullable=False),
    sa.Column('m08', sa.Integer(), nullable=False),
    sa.Column('m09', sa.Integer(), nullable=False),
    sa.Column('m10', sa.Integer(), nullable=False),
    sa.Column('m11', sa.Integer(), nullable=False),
    sa.Column('m12', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('participant_id', 'kind', 'quartier_id', 'language', 'action_id', 'year', name=op.f('pk_participant_activity')),
    sqlite_with_rowid=False
    )
    # What each habitant did per UTC month (the tableau de bord's distinct habitants), kept by
    # triggers on contributions, answers and conversations: see storage/participant_activity.py.
    from storage import participant_activity
    participant_activity.create(op.get_bind())

    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_ip_at', ['ip', 'at'], unique=False)

    op.create_table('reply_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates'))
    )
    op.create_table('staff_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('personal_data_version', sa.String(length=40), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_staff_replies_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_staff_replies_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_replies_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_replies'))
    )
    with op.batch_alter_table('staff_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_replies_contribution_id'), ['contribution_id'], unique=False)

    op.create_table('personal_data_spans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('staff_reply_id', sa.Integer(), nullable=True),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_personal_data_spans_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_reply_id'], ['staff_replies.id'], name=op.f('fk_personal_data_spans_staff_reply_id_staff_replies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_spans'))
    )
    with op.batch_alter_table('personal_data_spans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_spans_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_spans_staff_reply_id'), ['staff_reply_id'], unique=False)

    op.create_table('personal_data_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phrase', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_personal_data_marks_contribution_id_contributions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_data_marks_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_marks'))
    )

    op.create_table('access_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_access_codes_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], name=op.f('fk_access_codes_used_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_access_codes_code_hash'))
    )
    with op.batch_alter_table('access_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_codes_participant_id'), ['participant_id'], unique=False)
    op.create_table('contribution_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=False),
    sa.Column('requested_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('translated_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('personal_data_version', sa.String(length=40), nullable=True),
    sa.Column('personal_data_spans', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_contribution_translations_contribution_id_contributions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_translations')),
    sa.UniqueConstraint('contribution_id', 'target', name=op.f('uq_contribution_translations_contribution_id'))
    )
    with op.batch_alter_table('contribution_translations', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_translations_status_next', ['status', 'next_attempt_at'], unique=False)

    # French full-text search of contributions (SQLite FTS5 / PostgreSQL `french`): see
    # storage/search.py, which owns the SQL so that the inbox and this migration agree.
    from storage import search
    search.create(op.get_bind())

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=80), nullable=False),
    sa.Column('acquired_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('participant_channels',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('first_seen_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('unreachable_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_participant_channels_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', 'channel', name=op.f('pk_participant_channels'))
    )
    op.create_table('reference_versions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_versions'))
    )
    op.execute("INSERT INTO reference_versions (id, version) VALUES (1, 0)")
    op.create_table('site_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_site_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_site_settings'))
    )

    op.create_table('suggestion_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('n_examples', sa.Integer(), nullable=False),
    sa.Column('themes_key', sa.String(length=64), nullable=False),
    sa.Column('labels_max_id', sa.Integer(), nullable=False),
    sa.Column('labels_count', sa.Integer(), nullable=False),
    sa.Column('train_seconds', sa.Float(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_models'))
    )
    with op.batch_alter_table('suggestion_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestion_models_active'), ['active'], unique=False)

    _create_followup_tables()
    _create_report_tables()


def _create_followup_tables() -> None:
    """Donner suite (issue 18): publications, quotes, engagements, threads."""
    op.create_table('publications',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('published_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_publications_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_publications_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_publications')),
    sa.UniqueConstraint('slug', name=op.f('uq_publications_slug'))
    )
    op.create_table('public_quotes',
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('selected_by_id', sa.Integer(), nullable=True),
    sa.Column('selected_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_public_quotes_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['selected_by_id'], ['users.id'], name=op.f('fk_public_quotes_selected_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('contribution_id', name=op.f('pk_public_quotes'))
    )
    op.create_table('engagements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('partner', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_engagements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_engagements_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_engagements_theme_id_themes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagements'))
    )
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagements_quartier_id'), ['quartier_id'], unique=False)

    op.create_table('engagement_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_updates_engagement_id_engagements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_engagement_updates_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_updates'))
    )
    with op.batch_alter_table('engagement_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_updates_engagement_id'), ['engagement_id'], unique=False)

    op.create_table('engagement_contributions',
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_engagement_contributions_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_contributions_engagement_id_engagements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('engagement_id', 'contribution_id', name=op.f('pk_engagement_contributions'))
    )
    with op.batch_alter_table('engagement_contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_contributions_contribution_id'), ['contribution_id'], unique=False)

    op.create_table('engagement_campaigns',
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_engagement_campaigns_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_campaigns_engagement_id_engagements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('engagement_id', 'campaign_id', name=op.f('pk_engagement_campaigns'))
    )
    op.create_table('thread_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('media', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('seen_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('personal_data_version', sa.String(length=40), nullable=True),
    sa.Column('personal_data_spans', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_thread_messages_contribution_id_contributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_thread_messages_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_messages'))
    )
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_messages_contribution_id'), ['contribution_id'], unique=False)


def _create_report_tables() -> None:
    """The report (issue 21): saved report models."""
    op.create_table('report_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_report_models_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_models')),
    sa.UniqueConstraint('name', name=op.f('uq_report_models_name'))
    )


def downgrade() -> None:
    op.drop_table('report_models')
    for table in ('thread_messages', 'engagement_campaigns', 'engagement_contributions',
                  'engagement_updates', 'engagements', 'public_quotes', 'publications'):
        op.drop_table(table)
    op.drop_table('site_settings')
    op.drop_table('reference_versions')
    op.drop_table('participant_channels')
    with op.batch_alter_table('suggestion_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_models_active'))

    op.drop_table('suggestion_models')
    op.drop_table('scheduler_leases')
    from storage import search
    search.drop(op.get_bind())
    with op.batch_alter_table('access_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_codes_participant_id'))

    op.drop_table('access_codes')
    op.drop_table('personal_data_marks')
    with op.batch_alter_table('personal_data_spans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_spans_staff_reply_id'))
        batch_op.drop_index(batch_op.f('ix_personal_data_spans_contribution_id'))

    op.drop_table('personal_data_spans')
    with op.batch_alter_table('contribution_translations', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_translations_status_next')

    op.drop_table('contribution_translations')
    with op.batch_alter_table('staff_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_replies_contribution_id'))

    op.drop_table('staff_replies')
    op.drop_table('reply_templates')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_ip_at')
        batch_op.drop_index('ix_login_attempts_email_at')

    op.drop_table('login_attempts')
    from storage import participant_activity
    participant_activity.drop(op.get_bind())
    op.drop_table('participant_activity')
    from storage import contribution_months
    contribution_months.drop(op.get_bind())
    op.drop_table('contribution_months')
    from storage import theme_state
    theme_state.drop(op.get_bind())
    with op.batch_alter_table('categorisations', schema=None) as batch_op:
        batch_op.drop_index('ix_categorisations_source_contribution')
        batch_op.drop_index('ix_categorisations_theme_contribution')
        batch_op.drop_index(batch_op.f('ix_categorisations_contribution_id'))

    op.drop_table('categorisations')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_index('ix_contributions_state_created')
        batch_op.drop_index('ix_contributions_quartier_state')
        batch_op.drop_index('ix_contributions_state_status')
        batch_op.drop_index('ix_contributions_language_created')
        batch_op.drop_index('ix_contributions_created_people')
        batch_op.drop_index('ix_contributions_quartier_created')
        batch_op.drop_index('ix_contributions_created_id')
        batch_op.drop_index('ix_contributions_status_created')
        batch_op.drop_index(batch_op.f('ix_contributions_quartier_id'))
        batch_op.drop_index(batch_op.f('ix_contributions_participant_id'))
        batch_op.drop_index(batch_op.f('ix_contributions_intervenant_id'))
        batch_op.drop_index(batch_op.f('ix_contributions_created_at'))
        batch_op.drop_index(batch_op.f('ix_contributions_action_id'))

    op.drop_table('contributions')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_created_understood')
        batch_op.drop_index('ix_answers_conversation_understood')

    op.drop_table('answers')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_sent_at'))
        batch_op.drop_index('ix_messages_failed')
        batch_op.drop_index('ix_messages_recorded')
        batch_op.drop_index(batch_op.f('ix_messages_participant_id'))
        batch_op.drop_index('ix_messages_outbox')

    op.drop_table('messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_participant_id'))
        batch_op.drop_index('ix_conversations_campaign_participant')
        batch_op.drop_index('ix_conversations_campaign_status')

    op.drop_table('conversations')
    op.drop_table('join_codes')
    op.drop_table('questions')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_status'))

    op.drop_table('campaigns')
    op.drop_table('user_quartiers')
    op.drop_table('surveys')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_quartier_id'))
        batch_op.drop_index(batch_op.f('ix_participants_joined_via'))

    op.drop_table('participants')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('users')
    op.drop_table('themes')
    op.drop_table('quartiers')
